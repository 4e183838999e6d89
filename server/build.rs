// Migrations are embedded at compile time by sqlx::migrate!; rebuild when
// one is added, or a new migration would silently not ship.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
