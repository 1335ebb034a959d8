//! A bare Tauri 2 window with a static page: the baseline the footprint benchmark compares the
//! app against (same Tauri, same features, same build profile).

fn main() {
    if let Err(e) = tauri::Builder::default().run(tauri::generate_context!()) {
        eprintln!("the bare window could not start: {e}");
        std::process::exit(1);
    }
}
