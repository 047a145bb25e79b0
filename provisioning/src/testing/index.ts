// Fakes and contract suites of @lightnode/provisioning (subpath ./testing).
export {};
