// The UI's types are generated from the Rust definitions (crates/presence, crates/protocol):
// see generated.ts and crates/protocol/tests/typescript.rs.
export type * from "./generated";
