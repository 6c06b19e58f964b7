import './errors.ts';
import './market.ts';
import './orderbook.ts';
import './ticker.ts';
import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.ts';

export const schema = lexicographicSortSchema(builder.toSchema());
