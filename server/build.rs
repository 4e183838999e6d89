// Migrations are embedded at compile time (store::migrate); rebuild when
// one changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
