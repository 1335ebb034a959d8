// The admin console's build (ui/dist-admin) is embedded by rust-embed: build the server again
// whenever it changes, so the binary never serves an older console than the one on disk.
fn main() {
    println!("cargo:rerun-if-changed=../../ui/dist-admin");
    println!("cargo:rerun-if-changed=build.rs");
}
