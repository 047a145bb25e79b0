// Fakes and contract suites of @lightnode/hw-test (subpath ./testing).
export {};
