import './candles.ts';
import './client.ts';
import './consolidated.ts';
import './errors.ts';
import './feeds.ts';
import './market.ts';
import './order.ts';
import './orderbook.ts';
import './session.ts';
import './ticker.ts';
import './trades.ts';
import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.ts';

export const schema = lexicographicSortSchema(builder.toSchema());
