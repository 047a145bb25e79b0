// Public surface of protocols/lightnode (re-exported by ../index.ts).
export {};
