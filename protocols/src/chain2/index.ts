// Public surface of protocols/chain2: the Chain 2 CF message set, DLMS dates, the Italian market calendar, mapping.
export * from './calendar.js';
export * from './dlms-date.js';
export * from './frames.js';
export * from './mapper.js';
