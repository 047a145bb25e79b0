// Public surface of protocols/chain2 (re-exported by ../index.ts).
export {};
