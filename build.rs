// `include_dir!` embeds `templates/`, but cargo only notices edits to files it already
// embedded; this makes added and removed templates rebuild the crate too.
fn main() {
    println!("cargo:rerun-if-changed=templates");
}
