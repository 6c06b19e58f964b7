import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import type { GraphQLArmorCallbackConfiguration } from '@escape.tech/graphql-armor-types';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import type { Plugin } from 'graphql-yoga';
import type { Metrics } from '../../observability/metrics.ts';

export interface ArmorOptions {
  /** Introspection (`__schema`, `__type`) answered; off in production, where the SDK carries the schema. */
  introspection: boolean;
  /** Say "Did you mean …?" on a mistyped field; off in production. */
  fieldSuggestions: boolean;
}

/**
 * Limits on what one document may ask, checked at parse/validation, before anything runs:
 * depth, aliases, directives, tokens and cost (graphql-armor). The limits sit well above every
 * operation in sdk/operations and GraphiQL's introspection query; a refusal is a validation error
 * (400) that does not reveal the limit, and is counted by protection in
 * `bookgraph_armor_rejections_total`.
 */
export function useArmor(metrics: Metrics, options: ArmorOptions): Plugin[] {
  const counted = (
    protection: string,
    errorMessage: string,
  ): GraphQLArmorCallbackConfiguration & { exposeLimits: boolean; errorMessage: string } => ({
    exposeLimits: false,
    errorMessage,
    // Reported as validation errors (GRAPHQL_VALIDATION_FAILED, 400) like the spec's own rules;
    // the token limit acts while parsing, where there is no validation context: it throws.
    onReject: [
      (context, error) => {
        metrics.armorRejections.inc({ protection });
        if (context) context.reportError(error);
        else throw error;
      },
    ],
    propagateOnRejection: false,
  });
  const plugins: Plugin[] = [
    EnvelopArmorPlugin({
      maxDepth: {
        n: 10,
        flattenFragments: true,
        ignoreIntrospection: true,
        ...counted('max_depth', 'The document nests selections too deeply.'),
      },
      maxAliases: { n: 15, ...counted('max_aliases', 'The document uses too many aliases.') },
      maxDirectives: { n: 20, ...counted('max_directives', 'The document uses too many directives.') },
      maxTokens: { n: 3000, ...counted('max_tokens', 'The document is too long.') },
      costLimit: { maxCost: 20_000, ...counted('cost_limit', 'The document asks for too much at once.') },
      blockFieldSuggestion: { enabled: !options.fieldSuggestions },
    }) as Plugin,
  ];
  if (!options.introspection) plugins.push(useDisableIntrospection());
  return plugins;
}
