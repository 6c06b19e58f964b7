import { ErrorCode } from '../resolvers/errors.ts';
import { builder } from './builder.ts';

// Not returned by any field: listed so the contract (and the generated SDK) names every code
// that can appear in `errors[].extensions.code`.
builder.enumType('ErrorCode', {
  description:
    'Values of `extensions.code` on expected errors. Any other error is masked as "Unexpected error."',
  values: {
    [ErrorCode.BadUserInput]: {
      description: 'An argument is out of range or malformed; `extensions.issues` lists each.',
    },
    [ErrorCode.ExchangeNotFound]: { description: 'The exchange is not ingested in this region.' },
    [ErrorCode.MarketNotFound]: { description: 'The exchange does not list this symbol in this region.' },
    [ErrorCode.BookUnavailable]: { description: 'The market exists but no book has been written yet.' },
    [ErrorCode.SubscriberTooSlow]: {
      description:
        'A stream that cannot be conflated (trades) ended because the subscriber fell too far behind; resubscribe.',
    },
    [ErrorCode.Unauthenticated]: {
      description:
        'No API key, or one that is malformed, unknown, revoked or expired (`Authorization: Bearer <key>`).',
    },
    [ErrorCode.Forbidden]: { description: "The API key's scopes do not allow this operation." },
    [ErrorCode.SessionNotFound]: {
      description: "No such session for this client (also what another client's session looks like).",
    },
    [ErrorCode.OrderNotFound]: {
      description: "No such order for this client (also what another client's order looks like).",
    },
    [ErrorCode.WrongRegion]: {
      description:
        "A write on a session owned by another region (the `WrongRegion` result of placeOrder, cancelOrder, cancelAllOrders and closeSession). Nothing was written; send it to a server of the session's home region.",
    },
    [ErrorCode.RateLimited]: {
      description:
        'A quota of the API key (or, without a key, of the source address) is used up: requests per second, connections, streams or subscriptions. `extensions.retryAfterSeconds` says when to try again.',
    },
    [ErrorCode.LimitExceeded]: {
      description:
        'The request is larger than the server accepts: body, document size or tokens, depth, aliases, directives or cost (`extensions.limit` names which). Nothing ran.',
    },
    [ErrorCode.Unavailable]: {
      description:
        "The region's Redis did not answer in time (outage, failover, restart): retry with backoff. A mutation's outcome is unknown; retry it with the same `clientOrderId`.",
    },
  },
});
