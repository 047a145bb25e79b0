// Fakes and contract suites of @lightnode/edge (subpath ./testing).
export {};
