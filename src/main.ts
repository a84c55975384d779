/** `npm start`: the whole of Herald on one machine (same as `herald start`). */
import { runHerald } from './runtime/run-herald.js';

void runHerald({ role: 'start' });
