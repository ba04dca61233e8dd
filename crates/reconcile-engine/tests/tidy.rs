//! The engine stays neutral: its sources name no vendor, no HTTP and no SQL
//! (the dependency rules are checked by the workspace tidy test).

use std::path::Path;

#[test]
fn sources_name_no_vendor_http_or_sql() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let banned = ["duo", "http", "sql", "reqwest", "rusqlite"];
    let mut hits = Vec::new();
    let mut files = Vec::new();
    let mut dirs = vec![dir];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 5, "the walk found the sources: {files:?}");
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap().to_lowercase();
        for (n, line) in text.lines().enumerate() {
            // Doc lines may use PingOne's status words; code may not name vendors.
            let code = line.trim_start();
            if code.starts_with("//") {
                if banned.iter().any(|b| code.contains(b)) {
                    hits.push(format!("{}:{}: {line}", path.display(), n + 1));
                }
                continue;
            }
            if banned
                .iter()
                .chain(["pingone"].iter())
                .any(|b| code.contains(b))
            {
                hits.push(format!("{}:{}: {line}", path.display(), n + 1));
            }
        }
    }
    assert!(
        hits.is_empty(),
        "the engine must stay neutral:\n{}",
        hits.join("\n")
    );
}
