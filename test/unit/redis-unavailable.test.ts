import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { isRedisUnavailable } from '../../src/redis/unavailable.ts';

function replyError(message: string): Error {
  const error = new Error(message);
  error.name = 'ReplyError';
  return error;
}

describe('isRedisUnavailable', () => {
  it('recognises outages, also wrapped in a GraphQL error', () => {
    expect(isRedisUnavailable(new Error('Command timed out'))).toBe(true);
    expect(isRedisUnavailable(new Error('Connection is closed.'))).toBe(true);
    const retries = new Error('Reached the max retries per request limit (which is 3).');
    retries.name = 'MaxRetriesPerRequestError';
    expect(isRedisUnavailable(retries)).toBe(true);
    expect(isRedisUnavailable(replyError("READONLY You can't write against a read only replica."))).toBe(
      true,
    );
    expect(isRedisUnavailable(replyError('LOADING Redis is loading the dataset in memory'))).toBe(true);
    expect(isRedisUnavailable(replyError("OOM command not allowed when used memory > 'maxmemory'."))).toBe(
      true,
    );
    const located = new GraphQLError('Command timed out', { originalError: new Error('Command timed out') });
    expect(isRedisUnavailable(located)).toBe(true);
  });

  it('leaves bugs and other replies alone', () => {
    expect(isRedisUnavailable(new TypeError('x is undefined'))).toBe(false);
    expect(
      isRedisUnavailable(replyError('WRONGTYPE Operation against a key holding the wrong kind of value')),
    ).toBe(false);
    expect(isRedisUnavailable(new Error('READONLY but not a reply'))).toBe(false);
    expect(isRedisUnavailable('Command timed out')).toBe(false);
  });
});
