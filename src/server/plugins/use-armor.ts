import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import type { GraphQLArmorCallbackConfiguration } from '@escape.tech/graphql-armor-types';
import type { Plugin } from 'graphql-yoga';
import type { Metrics } from '../../observability/metrics.ts';
import { limitExceeded } from '../edge/documents.ts';
import { useNoSchemaHints } from '../edge/use-no-schema-hints.ts';

export interface ArmorOptions {
  /** Introspection (`__schema`, `__type`) answered; off in production, where the SDK carries the schema. */
  introspection: boolean;
  /** Say "Did you mean …?" on a mistyped field, enum value or input field; off in production. */
  fieldSuggestions: boolean;
}

/**
 * Limits on what one document may ask, checked at validation, before anything runs: depth,
 * aliases, directives and cost (graphql-armor; size and tokens are checked before parsing, in
 * src/server/edge/documents.ts). The limits sit well above every operation in sdk/operations and
 * GraphiQL's introspection query; a refusal is a `LIMIT_EXCEEDED` error (400) naming the limit,
 * not its value, and is counted by protection in `bookgraph_armor_rejections_total`.
 */
export function useArmor(metrics: Metrics, options: ArmorOptions): Plugin[] {
  const counted = (
    protection: string,
    errorMessage: string,
  ): GraphQLArmorCallbackConfiguration & { exposeLimits: boolean; errorMessage: string } => ({
    exposeLimits: false,
    errorMessage,
    onReject: [
      (context) => {
        metrics.armorRejections.inc({ protection });
        context?.reportError(limitExceeded(protection, errorMessage));
      },
    ],
    propagateOnRejection: false,
  });
  return [
    EnvelopArmorPlugin({
      maxDepth: {
        n: 10,
        flattenFragments: true,
        ignoreIntrospection: true,
        ...counted('max_depth', 'The document nests selections too deeply.'),
      },
      maxAliases: { n: 15, ...counted('max_aliases', 'The document uses too many aliases.') },
      maxDirectives: { n: 20, ...counted('max_directives', 'The document uses too many directives.') },
      maxTokens: { enabled: false },
      costLimit: { maxCost: 20_000, ...counted('cost_limit', 'The document asks for too much at once.') },
      blockFieldSuggestion: { enabled: false },
    }) as Plugin,
    useNoSchemaHints({ introspection: options.introspection, suggestions: options.fieldSuggestions }),
  ];
}
