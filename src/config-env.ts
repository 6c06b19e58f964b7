import { z } from 'zod';

/** Parsers shared by the configuration's variables (src/config.ts and the modules it gathers). */
export const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v);

/** An integer variable within [min, max], `fallback` when unset or empty. */
export const int = (min: number, max: number, fallback: number) =>
  z.preprocess(emptyAsUndefined, z.coerce.number().int().min(min).max(max).default(fallback));

/** A comma list, trimmed, without empty items. */
export const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** An on/off switch: `1`/`true` or `0`/`false`; unset stays undefined (the caller's default). */
export const onOff = z.preprocess(emptyAsUndefined, z.enum(['1', '0', 'true', 'false']).optional());

export const isOn = (flag: '1' | '0' | 'true' | 'false') => flag === '1' || flag === 'true';
