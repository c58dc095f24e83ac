//! The architecture of `docs/architecture.md`, checked: the server's top-level modules import
//! only down their layers (so no circle can form), its leaves import nothing of it, at most 12
//! files sit loose at the top of `server/src`, and the workspace's crates depend on each other
//! only the documented way (the server on the protocol, never on the client SDK).
//!
//! The imports are read from the source text (`crate::…` and `super::…` paths outside
//! comments), which is how a reader sees them too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The server's top-level modules, by layer, top first: a module imports only from layers below
/// its own, or from its own layer without a circle.
const LAYERS: [&[&str]; 8] = [
    &["lib", "main", "server", "config", "fuzz"],
    &["http"],
    &["presence", "chat", "storage_module"],
    &["module"],
    &["backend", "storage"],
    &["bus"],
    &["auth", "redis", "net"],
    &["error", "metrics"],
];

/// Modules that import nothing of the server.
const LEAVES: [&str; 2] = ["error", "metrics"];

/// The most files directly in `server/src`.
const MAX_LOOSE_FILES: usize = 12;

/// Each workspace crate's dependencies among the workspace's crates (normal and build ones).
const CRATES: [(&str, &[&str]); 7] = [
    ("rtm-json", &[]),
    ("rtm-protocol", &["rtm-json"]),
    ("rtm-sdk-core", &["rtm-json", "rtm-protocol"]),
    ("rtm-sdk", &["rtm-sdk-core"]),
    (
        "rtm-sdk-wasm",
        &["rtm-json", "rtm-protocol", "rtm-sdk-core"],
    ),
    ("rtm-server", &["rtm-protocol"]),
    (
        "rtm-tests",
        &[
            "rtm-json",
            "rtm-protocol",
            "rtm-sdk",
            "rtm-sdk-core",
            "rtm-server",
        ],
    ),
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn server_modules_import_only_down_their_layers() {
    let imports = imports_of(&workspace().join("server/src"));
    let layer_of = |module: &str| {
        LAYERS
            .iter()
            .position(|layer| layer.contains(&module))
            .unwrap_or_else(|| panic!("server/src/{module} is in no layer of LAYERS"))
    };
    let mut upward = Vec::new();
    for (from, targets) in &imports {
        for to in targets {
            if layer_of(to) < layer_of(from) {
                upward.push(format!("{from} → {to}"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports up the layers: {upward:?}\n(docs/architecture.md)"
    );
    for leaf in LEAVES {
        let targets = imports.get(leaf).cloned().unwrap_or_default();
        assert!(targets.is_empty(), "the leaf {leaf} imports {targets:?}");
    }
    if let Some(circle) = find_circle(&imports) {
        panic!("an import circle: {}", circle.join(" → "));
    }
}

#[test]
fn the_circle_finder_finds_circles() {
    let graph = |edges: &[(&str, &str)]| {
        let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in edges {
            imports
                .entry(from.to_string())
                .or_default()
                .insert(to.to_string());
        }
        imports
    };
    let circle = find_circle(&graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]));
    assert_eq!(circle.unwrap(), ["a", "b", "c", "a"]);
    assert_eq!(
        find_circle(&graph(&[("a", "b"), ("a", "c"), ("b", "c")])),
        None
    );
}

#[test]
fn the_import_reader_sees_paths_groups_and_super() {
    let source = "use crate::{bus::Bus, error::{AckError, store_error}};\n\
                  // crate::http in a comment\n\
                  use super::super::metrics::Metrics;\n\
                  fn f() { crate::net::signal(); let s = \"crate::auth\"; }\n";
    let found = imports_in(source, &["presence".into(), "handlers".into()]);
    let found: Vec<&str> = found.iter().map(String::as_str).collect();
    assert_eq!(found, ["bus", "error", "metrics", "net"]);
}

#[test]
fn few_files_are_loose_at_the_top_of_server_src() {
    let loose: Vec<String> = std::fs::read_dir(workspace().join("server/src"))
        .expect("server/src")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.is_file())
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        loose.len() <= MAX_LOOSE_FILES,
        "{} files loose in server/src (at most {MAX_LOOSE_FILES}): {loose:?}",
        loose.len()
    );
}

#[test]
fn crates_depend_on_each_other_only_the_documented_way() {
    let ours: BTreeSet<&str> = CRATES.iter().map(|(name, _)| *name).collect();
    let mut seen = BTreeSet::new();
    for manifest in manifests(&workspace()) {
        let text = std::fs::read_to_string(&manifest).expect("a manifest");
        let Some(name) = package_name(&text) else {
            continue;
        };
        let allowed = CRATES
            .iter()
            .find(|(crate_name, _)| *crate_name == name)
            .unwrap_or_else(|| panic!("{name} ({}) is not in CRATES", manifest.display()))
            .1;
        let depends: BTreeSet<String> = dependency_names(&text)
            .into_iter()
            .filter(|dep| ours.contains(dep.as_str()))
            .collect();
        let extra: Vec<&String> = depends
            .iter()
            .filter(|dep| !allowed.contains(&dep.as_str()))
            .collect();
        assert!(extra.is_empty(), "{name} depends on {extra:?}");
        seen.insert(name);
    }
    let missing: Vec<&&str> = ours.iter().filter(|name| !seen.contains(**name)).collect();
    assert!(missing.is_empty(), "no manifest found for {missing:?}");
}

/// The top-level modules each top-level module of `src` imports (itself left out).
fn imports_of(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(src) {
        let relative = file.strip_prefix(src).expect("under src");
        let mut path: Vec<String> = relative
            .with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if path.last().is_some_and(|last| last == "mod") {
            path.pop();
        }
        let top = path[0].clone();
        let source = std::fs::read_to_string(&file).expect("a source file");
        let targets = imports.entry(top.clone()).or_default();
        for target in imports_in(&source, &path) {
            if target != top {
                targets.insert(target);
            }
        }
    }
    imports
}

/// The top-level modules `source` (the file of the module at `path`) names with `crate::` or
/// `super::` paths, comments and string literals left out.
fn imports_in(source: &str, path: &[String]) -> BTreeSet<String> {
    let code = strip_comments_and_strings(source);
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    let mut at = 0;
    while at < code.len() {
        let rest = &code[at..];
        let starts_word = at == 0 || !is_ident(bytes[at - 1] as char);
        if starts_word && rest.starts_with("crate::") {
            at += "crate::".len();
            at = read_targets(&code, at, &mut found, None);
        } else if starts_word && rest.starts_with("super::") {
            // `super::` from module `path` (a file at depth n) goes up; only a path that leaves
            // the top-level module names another one.
            let mut depth = path.len();
            while code[at..].starts_with("super::") {
                depth = depth.saturating_sub(1);
                at += "super::".len();
            }
            match depth {
                0 => at = read_targets(&code, at, &mut found, None),
                _ => at = read_targets(&code, at, &mut found, Some(&path[0])),
            }
        } else {
            at += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    found
}

/// Reads the first segment of the path at `at` (or of each path of a `{…}` group) into
/// `found`; with `within`, the path stays inside that module and the module itself is found.
fn read_targets(
    code: &str,
    at: usize,
    found: &mut BTreeSet<String>,
    within: Option<&str>,
) -> usize {
    if let Some(module) = within {
        found.insert(module.to_string());
        return at;
    }
    let rest = &code[at..];
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 1;
        let mut segment_start = true;
        for (offset, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return at + 1 + offset + 1;
                    }
                }
                ',' if depth == 1 => segment_start = true,
                c if depth == 1 && segment_start && is_ident(c) => {
                    let ident: String = group[offset..]
                        .chars()
                        .take_while(|c| is_ident(*c))
                        .collect();
                    if ident != "self" {
                        found.insert(ident);
                    }
                    segment_start = false;
                }
                c if !c.is_whitespace() => segment_start = false,
                _ => {}
            }
        }
        return code.len();
    }
    let ident: String = rest.chars().take_while(|c| is_ident(*c)).collect();
    if !ident.is_empty() {
        found.insert(ident.clone());
    }
    at + ident.len().max(1)
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `source` with its comments and the contents of its string literals blanked out.
fn strip_comments_and_strings(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    let mut previous = ' ';
    while let Some(c) = chars.next() {
        let after_ident = is_ident(previous);
        previous = c;
        match c {
            'r' if !after_ident && matches!(chars.peek(), Some('#') | Some('"')) => {
                // A raw string: r"…", r#"…"#, …
                let mut hashes = 0;
                while chars.next_if_eq(&'#').is_some() {
                    hashes += 1;
                }
                if chars.next_if_eq(&'"').is_none() {
                    out.push('r');
                    continue;
                }
                out.push_str("\"\"");
                let mut closing = None;
                for c in chars.by_ref() {
                    closing = match (c, closing) {
                        ('"', _) => Some(0),
                        ('#', Some(n)) => Some(n + 1),
                        _ => None,
                    };
                    if closing == Some(hashes) {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let mut previous = ' ';
                for c in chars.by_ref() {
                    if previous == '*' && c == '/' {
                        break;
                    }
                    previous = c;
                }
            }
            '"' => {
                out.push('"');
                let mut escaped = false;
                for c in chars.by_ref() {
                    if !escaped && c == '"' {
                        break;
                    }
                    escaped = !escaped && c == '\\';
                }
                out.push('"');
            }
            '\'' => {
                // A char literal ('x', '\n') or a lifetime ('a): keep lifetimes as they are.
                let mut lookahead = chars.clone();
                let literal = matches!(
                    (lookahead.next(), lookahead.next()),
                    (Some('\\'), _) | (Some(_), Some('\''))
                );
                out.push('\'');
                if literal {
                    let mut escaped = false;
                    for c in chars.by_ref() {
                        if !escaped && c == '\'' {
                            break;
                        }
                        escaped = !escaped && c == '\\';
                    }
                    out.push('\'');
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// A circle in `imports` as the modules along it (the first repeated at the end), if any.
fn find_circle(imports: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        imports: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| m == module) {
            let mut circle = path[start..].to_vec();
            circle.push(module.to_string());
            return Some(circle);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_string());
        for next in imports.get(module).into_iter().flatten() {
            if let Some(circle) = visit(next, imports, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(module.to_string());
        None
    }
    let mut done = BTreeSet::new();
    imports
        .keys()
        .find_map(|module| visit(module, imports, &mut Vec::new(), &mut done))
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The workspace's `Cargo.toml` files (not under `target/` or `node_modules/`).
fn manifests(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a directory") {
        let path = entry.expect("an entry").path();
        let name = path.file_name().unwrap().to_string_lossy();
        if path.is_dir() {
            // `vendor` holds patched dependencies, not our crates.
            if !name.starts_with('.')
                && !["target", "node_modules", "pkg", "vendor"].contains(&&*name)
            {
                found.extend(manifests(&path));
            }
        } else if name == "Cargo.toml" {
            found.push(path);
        }
    }
    found
}

/// `[package] name`, if the manifest has a package.
fn package_name(manifest: &str) -> Option<String> {
    let package = manifest.split("[package]").nth(1)?;
    let line = package
        .lines()
        .find(|l| l.trim_start().starts_with("name"))?;
    Some(line.split('"').nth(1)?.to_string())
}

/// The names in the manifest's `[dependencies]`, `[build-dependencies]` and target-specific
/// dependency tables (dev-dependencies left out: tests may reach further).
fn dependency_names(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_dependencies = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_dependencies = (line.ends_with("dependencies]") || line.ends_with("dependencies"))
                && !line.contains("dev-dependencies");
            continue;
        }
        if in_dependencies && let Some((key, _)) = line.split_once('=') {
            let key = key.trim().trim_matches('"');
            let name = key.split('.').next().unwrap_or(key);
            if !name.is_empty() && !name.starts_with('#') {
                names.push(name.to_string());
            }
        }
    }
    names
}
