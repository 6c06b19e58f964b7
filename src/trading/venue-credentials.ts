/**
 * The credentials of a real execution venue, from `<EXCHANGE>_API_KEY`, `_API_SECRET`, and, for
 * venues that need them, `_API_PASSWORD` (ccxt's `password`: OKX's, Bitget's, KuCoin's
 * passphrase) and `_API_UID` (ccxt's `uid`). Which a venue needs is ccxt's `requiredCredentials`.
 */
export interface VenueCredentials {
  apiKey: string;
  secret: string;
  password?: string;
  uid?: string;
}

type CredentialField = keyof VenueCredentials;

const SUFFIXES: Record<CredentialField, string> = {
  apiKey: 'API_KEY',
  secret: 'API_SECRET',
  password: 'API_PASSWORD',
  uid: 'API_UID',
};

/** `BINANCE_API_KEY` for `binance`: the variables holding an exchange's credentials. */
export function venueCredentialVariables(exchange: string): Record<CredentialField, string> {
  const prefix = exchange.toUpperCase();
  return {
    apiKey: `${prefix}_${SUFFIXES.apiKey}`,
    secret: `${prefix}_${SUFFIXES.secret}`,
    password: `${prefix}_${SUFFIXES.password}`,
    uid: `${prefix}_${SUFFIXES.uid}`,
  };
}

/**
 * An exchange's credentials as the environment holds them; `missing` names what no venue trades
 * without (key and secret). What else the venue needs is checked against ccxt when it starts
 * (`missingCredentials`), so configuration does not load ccxt.
 */
export function readVenueCredentials(
  exchange: string,
  env: NodeJS.ProcessEnv,
): { credentials: VenueCredentials; missing: string[] } {
  const names = venueCredentialVariables(exchange);
  const value = (field: CredentialField) => {
    const v = env[names[field]];
    return v === undefined || v === '' ? undefined : v;
  };
  const credentials: VenueCredentials = { apiKey: value('apiKey') ?? '', secret: value('secret') ?? '' };
  const password = value('password');
  const uid = value('uid');
  if (password !== undefined) credentials.password = password;
  if (uid !== undefined) credentials.uid = uid;
  const missing = (['apiKey', 'secret'] as const).filter((f) => !credentials[f]).map((f) => names[f]);
  return { credentials, missing };
}

/**
 * What ccxt's `requiredCredentials` of the exchange asks for that `credentials` lacks, as the
 * variables to set (`OKX_API_PASSWORD`), or the ccxt field when bookgraph cannot supply it.
 */
export function missingCredentials(
  exchange: string,
  required: Record<string, boolean | undefined>,
  credentials: VenueCredentials,
): string[] {
  const names = venueCredentialVariables(exchange);
  const out: string[] = [];
  for (const [field, needed] of Object.entries(required)) {
    if (!needed) continue;
    if (field in SUFFIXES) {
      if (!credentials[field as CredentialField]) out.push(names[field as CredentialField]);
    } else out.push(`ccxt credential "${field}" (not supported for execution venues)`);
  }
  return out;
}

/** An execution venue started without a credential it needs: names the variables to set. */
export class VenueCredentialsError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: string[];
  constructor(
    readonly exchange: string,
    readonly missing: readonly string[],
  ) {
    const problem = `EXECUTION_VENUES: ${exchange}=ccxt needs ${missing.join(' and ')}`;
    super(`Invalid environment variables:\n  - ${problem}`);
    this.problems = [problem];
  }
}
