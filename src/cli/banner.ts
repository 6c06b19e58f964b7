export interface BannerFacts {
  port: number;
  host: string;
  graphiql: boolean;
  /** Whether the market dashboard is served (`DASHBOARD`). */
  dashboard: boolean;
  redisUrl: string;
  /** The Redis is the private redis-server `start` launched. */
  privateRedis: boolean;
  /** Whether every Redis connection was up when the banner was printed. */
  redisReady: boolean;
}

/**
 * What `bookgraph start` prints for a person at a terminal in development (never in production,
 * never into a pipe): where the API is and how to try it, each line true of this process.
 */
export function banner(facts: BannerFacts): string {
  const shown = facts.host === '0.0.0.0' || facts.host === '::' ? 'localhost' : facts.host;
  const url = `http://${shown}:${facts.port}/graphql`;
  const redis = facts.redisUrl.replace(/\/\/[^@]*@/, '//***@');
  const lines = [
    '',
    facts.dashboard
      ? `  Dashboard: http://${shown}:${facts.port}/dashboard  (live books, trades, candles, liquidity)`
      : '  The dashboard is off (DASHBOARD=on turns it on).',
    facts.redisReady
      ? `  bookgraph is serving live books at ${url}`
      : `  bookgraph listens at ${url}, but Redis (${redis}) does not answer yet: queries answer UNAVAILABLE until it does.`,
    facts.privateRedis
      ? `  Redis: a private redis-server at ${redis}, stopped on exit; \`bookgraph clients\` and \`replay\` find it.`
      : `  Redis: ${redis}`,
    `  API keys: ${facts.privateRedis ? '' : `REDIS_URL=${redis} `}bookgraph clients create --name me --scopes marketdata:read,trade`,
    '',
  ];
  if (facts.graphiql) {
    lines.push(
      `  GraphiQL: open ${url} in a browser, paste this and press run:`,
      '    subscription { orderBookUpdates(exchange: "sim1", symbol: "BTC/USDT", depth: 5) {',
      '      type seq prevSeq bids { price size } asks { price size } } }',
    );
  } else {
    lines.push('  GraphiQL is off (GRAPHIQL=1 turns it on).');
  }
  lines.push(
    '',
    '  Over SSE from a terminal:',
    `    curl -N -H 'accept: text/event-stream' '${url}?query=subscription%7BorderBook(exchange:%22sim1%22,symbol:%22BTC/USDT%22,depth:3,throttleMs:1000)%7Bseq%20bestBid%7Bprice%7D%20bestAsk%7Bprice%7D%7D%7D'`,
    '',
  );
  return lines.join('\n');
}
