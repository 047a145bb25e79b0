// Fakes and contract suites of @lightnode/cloud (subpath ./testing).
export {};
