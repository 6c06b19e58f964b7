import { GraphQLError } from 'graphql';
import { createGraphQLError, maskError, type YogaMaskedErrorOpts } from 'graphql-yoga';
import { isRedisUnavailable } from '../redis/unavailable.ts';
import { ErrorCode } from '../resolvers/errors.ts';

const UNAVAILABLE_MESSAGE = 'The service cannot reach its data store right now; retry shortly.';

/**
 * Yoga's masking, except that a Redis outage is an expected, retryable condition: the client
 * gets `UNAVAILABLE` (at the field's path) instead of an opaque INTERNAL_SERVER_ERROR.
 */
export const maskErrors: Partial<YogaMaskedErrorOpts> = {
  maskError(error, message, isDev) {
    if (!isRedisUnavailable(error)) return maskError(error, message, isDev);
    const located = error instanceof GraphQLError ? error : undefined;
    return createGraphQLError(UNAVAILABLE_MESSAGE, {
      nodes: located?.nodes,
      path: located?.path,
      extensions: { code: ErrorCode.Unavailable },
    });
  },
};
