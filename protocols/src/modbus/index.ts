// Public surface of protocols/modbus (re-exported by ../index.ts).
export {};
