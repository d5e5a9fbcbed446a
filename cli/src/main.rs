//! The `zkinfer` binary; everything is in the `zkinfer_cli` library.

fn main() {
    zkinfer_cli::main();
}
