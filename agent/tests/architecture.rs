//! The crate's layers import one way (docs/architecture.md): the file import graph of
//! `agent/src` (files as nodes, a `crate::`/`super::`/`self::` path naming another file's
//! item as an edge; `#[cfg(test)]` code and `mod x;` declarations are not edges) has no
//! cycle, and the shared vocabulary and leaf utilities import nothing above them.
//!
//! Run `cargo test --test architecture -- --nocapture` to print the layers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A source file's module path (`["config", "validate"]`), from its path below `src/`.
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_string());
    }
    parts
}

/// Every `.rs` file below `dir`, with its module path.
fn sources(dir: &Path, base: &Path, out: &mut BTreeMap<Vec<String>, PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, base, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            // A `tests.rs` beside its module is `#[cfg(test)] mod tests;`: test code.
            let rel = path.strip_prefix(base).expect("below src");
            let module = module_of(rel);
            // main.rs and lib.rs are both the crate root; main is its own node.
            let key = if rel == Path::new("main.rs") {
                vec!["<main>".to_string()]
            } else {
                module
            };
            out.insert(key, path);
        }
    }
}

/// The text without comments, string and char literals, and `#[cfg(test)]` items.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if b[i] == b'r' && (b[i..].starts_with(b"r\"") || b[i..].starts_with(b"r#")) {
            let mut j = i + 1;
            let mut hashes = 0;
            while j < b.len() && b[j] == b'#' {
                hashes += 1;
                j += 1;
            }
            if j < b.len() && b[j] == b'"' && (i == 0 || !is_ident(b[i - 1])) {
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                j += 1;
                while j < b.len() && !b[j..].starts_with(&close) {
                    j += 1;
                }
                i = j + close.len();
                out.push_str("\"\"");
            } else {
                out.push('r');
                i += 1;
            }
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal ('a', '\n', '\u{..}'); a lifetime has no closing quote.
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    drop_cfg_test(&out)
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Removes each item that follows `#[cfg(test)]` (to its `;` or its matching brace).
fn drop_cfg_test(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let b = item.as_bytes();
        let mut depth = 0usize;
        let mut end = item.len();
        for (k, &c) in b.iter().enumerate() {
            match c {
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                b';' if depth == 0 => {
                    end = k + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// The paths a file names: every `crate::a::b`, `super::a`, `self::a` path, with `use`
/// trees (`crate::{a, b::{c, d}}`) expanded, as absolute module paths.
fn named_paths(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let b = code.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let at_word = i == 0 || !is_ident(b[i - 1]) && b[i - 1] != b':';
        let start = ["crate::", "super::", "self::"]
            .iter()
            .find(|p| b[i..].starts_with(p.as_bytes()));
        match start {
            Some(prefix) if at_word => {
                let base = match *prefix {
                    "crate::" => Vec::new(),
                    // `module` is already the folder's for a mod.rs.
                    "super::" => {
                        let mut m = module.to_vec();
                        m.pop();
                        m
                    }
                    _ => module.to_vec(),
                };
                let mut j = i + prefix.len();
                // `super::super::x`
                let mut base = base;
                while b[j..].starts_with(b"super::") {
                    base.pop();
                    j += "super::".len();
                }
                let (paths, end) = tree(b, j, base);
                found.extend(paths);
                i = end.max(i + 1);
            }
            _ => i += 1,
        }
    }
    found
}

/// Parses a path or use tree at `j`, prefixed by `base`; returns the full paths and the end.
fn tree(b: &[u8], mut j: usize, base: Vec<String>) -> (Vec<Vec<String>>, usize) {
    let mut path = base;
    loop {
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        if j < b.len() && b[j] == b'{' {
            j += 1;
            let mut all = Vec::new();
            loop {
                while j < b.len() && (b[j].is_ascii_whitespace() || b[j] == b',') {
                    j += 1;
                }
                if j >= b.len() || b[j] == b'}' {
                    return (all, j + 1);
                }
                let (sub, end) = tree(b, j, path.clone());
                all.extend(sub);
                // Skip an `as name` rename up to the next separator.
                j = end;
                while j < b.len() && b[j] != b',' && b[j] != b'}' {
                    j += 1;
                }
            }
        }
        let s = j;
        while j < b.len() && is_ident(b[j]) {
            j += 1;
        }
        if s == j {
            return (vec![path], j);
        }
        path.push(String::from_utf8_lossy(&b[s..j]).into_owned());
        if b[j..].starts_with(b"::") {
            j += 2;
        } else {
            return (vec![path], j);
        }
    }
}

/// What each file hands on with `pub use` (`pub(crate) use`): name -> the full path.
type Faces = BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>>;

/// The `pub use` statements of `code` in module `module`, as name -> full path.
fn re_exports(code: &str, module: &[String], children: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for prefix in ["pub use ", "pub(crate) use "] {
        for (at, _) in code.match_indices(prefix) {
            let j = at + prefix.len();
            let b = code.as_bytes();
            let (base, j) = if b[j..].starts_with(b"crate::") {
                (Vec::new(), j + 7)
            } else if b[j..].starts_with(b"self::") {
                (module.to_vec(), j + 6)
            } else if b[j..].starts_with(b"super::") {
                let mut m = module.to_vec();
                m.pop();
                (m, j + 7)
            } else if children
                .iter()
                .any(|c| b[j..].starts_with(format!("{c}::").as_bytes()))
            {
                (module.to_vec(), j)
            } else {
                continue;
            };
            let (paths, _) = tree(b, j, base);
            for path in paths {
                if let Some(last) = path.last() {
                    out.insert(last.clone(), path.clone());
                }
            }
        }
    }
    out
}

/// The file a module path lands in: its longest prefix that is a file, followed through
/// that file's `pub use` when it only hands the name on.
fn resolve<'a>(
    path: &[String],
    files: &'a BTreeMap<Vec<String>, PathBuf>,
    faces: &Faces,
) -> Option<&'a Vec<String>> {
    resolve_depth(path, files, faces, 0)
}

fn resolve_depth<'a>(
    path: &[String],
    files: &'a BTreeMap<Vec<String>, PathBuf>,
    faces: &Faces,
    depth: usize,
) -> Option<&'a Vec<String>> {
    let file = (1..=path.len())
        .rev()
        .find_map(|n| files.get_key_value(&path[..n]).map(|(k, _)| k))?;
    if depth < 8 {
        if let Some(next) = path.get(file.len()) {
            // A folder's face is followed into its own folder only: a name it hands on
            // from elsewhere still ties the importer to the folder it names.
            let own = |t: &Vec<String>| t.first() == file.first();
            if let Some(target) = faces.get(file).and_then(|f| f.get(next)).filter(|t| own(t)) {
                let mut full = target.clone();
                full.extend_from_slice(&path[file.len() + 1..]);
                if let Some(found) = resolve_depth(&full, files, faces, depth + 1) {
                    return Some(found);
                }
            }
        }
    }
    Some(file)
}

type Graph = BTreeMap<Vec<String>, BTreeSet<Vec<String>>>;

fn graph(src: &Path) -> (Graph, BTreeMap<Vec<String>, PathBuf>) {
    let mut files = BTreeMap::new();
    sources(src, src, &mut files);
    let mut codes = BTreeMap::new();
    let mut faces = Faces::new();
    for (module, path) in &files {
        let code = code_only(&std::fs::read_to_string(path).expect("read source"));
        let children: Vec<String> = files
            .keys()
            .filter(|c| c.len() == module.len() + 1 && c.starts_with(module))
            .map(|c| c[module.len()].clone())
            .collect();
        faces.insert(module.clone(), re_exports(&code, module, &children));
        codes.insert(module.clone(), code);
    }
    let mut edges = Graph::new();
    for module in files.keys() {
        let code = &codes[module];
        let own: Vec<String> = if module.first().is_some_and(|m| m == "<main>") {
            Vec::new()
        } else {
            module.clone()
        };
        let mut targets = BTreeSet::new();
        for named in named_paths(code, &own) {
            if let Some(to) = resolve(&named, &files, &faces) {
                if to != module && !to.is_empty() {
                    targets.insert(to.clone());
                }
            }
        }
        // main.rs names the library as `meet_agent::x`.
        if module.first().is_some_and(|m| m == "<main>") {
            for (at, _) in code.match_indices("meet_agent::") {
                let (paths, _) = tree(code.as_bytes(), at + "meet_agent::".len(), Vec::new());
                for named in paths {
                    if let Some(to) = resolve(&named, &files, &faces) {
                        targets.insert(to.clone());
                    }
                }
            }
        }
        // A child module named without a prefix (`validate::check(..)`, `pub use
        // validate::Settings;` in config/mod.rs).
        for (child, _) in files.range(own.clone()..) {
            if child.len() != own.len() + 1 || !child.starts_with(&own) {
                continue;
            }
            let word = &child[own.len()];
            let b = code.as_bytes();
            let hit = code
                .match_indices(&format!("{word}::"))
                .any(|(at, _)| at == 0 || !is_ident(b[at - 1]) && b[at - 1] != b':');
            if hit && child != module {
                targets.insert(child.clone());
            }
        }
        edges.insert(module.clone(), targets);
    }
    (edges, files)
}

/// Tarjan's strongly connected components of more than one file.
fn cycles(g: &Graph) -> Vec<Vec<Vec<String>>> {
    struct T<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on: BTreeSet<&'a Vec<String>>,
        out: Vec<Vec<Vec<String>>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a Vec<String>) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.g.get(v).into_iter().flatten() {
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.clone());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.out
}

/// Each file's layer: 1 for a file that imports none, else one above its highest import.
fn layers(g: &Graph) -> BTreeMap<Vec<String>, usize> {
    fn layer(
        g: &Graph,
        v: &Vec<String>,
        memo: &mut BTreeMap<Vec<String>, usize>,
        seen: &mut BTreeSet<Vec<String>>,
    ) -> usize {
        if let Some(&l) = memo.get(v) {
            return l;
        }
        if !seen.insert(v.clone()) {
            return 0; // a cycle: reported elsewhere
        }
        let l = 1 + g
            .get(v)
            .into_iter()
            .flatten()
            .map(|w| layer(g, w, memo, seen))
            .max()
            .unwrap_or(0);
        memo.insert(v.clone(), l);
        l
    }
    let mut memo = BTreeMap::new();
    for v in g.keys() {
        layer(g, v, &mut memo, &mut BTreeSet::new());
    }
    memo
}

fn name(m: &[String]) -> String {
    if m.is_empty() {
        "lib".into()
    } else {
        m.join("::")
    }
}

/// This crate's `src/`, or the folder `ARCHITECTURE_SRC` names (to measure another
/// checkout: `ARCHITECTURE_SRC=/old/agent/src cargo test --test architecture -- --nocapture`).
fn src() -> PathBuf {
    match std::env::var_os("ARCHITECTURE_SRC") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
    }
}

#[test]
fn the_file_import_graph_has_no_cycle() {
    let (g, _) = graph(&src());
    let found = cycles(&g);
    let mut report = String::new();
    for comp in &found {
        report.push_str(&format!("cycle of {} files:\n", comp.len()));
        for v in comp {
            for w in &g[v] {
                if comp.contains(w) {
                    report.push_str(&format!("  {} -> {}\n", name(v), name(w)));
                }
            }
        }
    }
    let l = layers(&g);
    let top = l.values().max().copied().unwrap_or(0);
    println!(
        "{} files, {} import edges, {} layers",
        g.len(),
        g.values().map(BTreeSet::len).sum::<usize>(),
        top
    );
    for n in (1..=top).rev() {
        let at: Vec<String> = l
            .iter()
            .filter(|(_, &x)| x == n)
            .map(|(k, _)| name(k))
            .collect();
        println!("layer {n:2}: {}", at.join(" "));
    }
    assert!(found.is_empty(), "the import graph has cycles:\n{report}");
}

/// The layers, lowest first (docs/architecture.md): a file imports only from its own
/// layer or a lower one. Each names the top-level modules (files or folders) it holds.
const LAYERS: [(&str, &[&str]); 7] = [
    (
        "leaf",
        &[
            "lib",
            "vocab",
            "secret",
            "redact",
            "well_formed",
            "fsutil",
            "write_behind",
            "encoding",
            "printable",
            "http_body",
            "retry",
            "logging",
            "paths",
            "host",
            "identity",
        ],
    ),
    (
        "domain",
        &[
            "aws",
            "systemd",
            "dns",
            "tls",
            "jitsi",
            "tune",
            "firewall",
            "access",
            "users",
            "ops",
            "bridge",
            "scale",
            "plan",
            "apply",
            "state",
            "recording",
            "sip",
        ],
    ),
    ("config", &["config"]),
    ("loading", &["source", "instance", "effective"]),
    ("pipeline and status", &["pipeline", "status"]),
    ("commands", &["commands", "cli"]),
    ("main", &["<main>"]),
];

fn layer_of(module: &[String]) -> Option<usize> {
    let top = module.first().map_or("lib", String::as_str);
    LAYERS.iter().position(|(_, tops)| tops.contains(&top))
}

#[test]
fn every_file_has_a_layer_and_imports_only_downwards() {
    let (g, _) = graph(&src());
    let mut wrong = Vec::new();
    for (from, targets) in &g {
        let Some(lf) = layer_of(from) else {
            wrong.push(format!(
                "{} is in no layer: add its module to LAYERS",
                name(from)
            ));
            continue;
        };
        for to in targets {
            if let Some(lt) = layer_of(to) {
                if lt > lf {
                    wrong.push(format!(
                        "{} ({}) imports {} ({})",
                        name(from),
                        LAYERS[lf].0,
                        name(to),
                        LAYERS[lt].0
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that run upwards:\n{}",
        wrong.join("\n")
    );
}

/// The graph with each file replaced by its top-level module (a folder is one room).
fn top_level(g: &Graph) -> Graph {
    let top = |m: &Vec<String>| vec![m.first().cloned().unwrap_or_else(|| "lib".into())];
    let mut out = Graph::new();
    for (from, targets) in g {
        let entry = out.entry(top(from)).or_default();
        for to in targets {
            if top(to) != top(from) {
                entry.insert(top(to));
            }
        }
    }
    out
}

#[test]
fn the_top_level_modules_import_one_way() {
    let (g, _) = graph(&src());
    let top = top_level(&g);
    let mut report = String::new();
    for comp in cycles(&top) {
        report.push_str("cycle:\n");
        for v in &comp {
            for (from, targets) in &g {
                if from.first() != v.first() {
                    continue;
                }
                for to in targets {
                    if to.first() != from.first() && comp.iter().any(|c| c.first() == to.first()) {
                        report.push_str(&format!("  {} -> {}\n", name(from), name(to)));
                    }
                }
            }
        }
    }
    assert!(
        report.is_empty(),
        "top-level modules that import each other:\n{report}"
    );
}

#[test]
fn the_parser_sees_use_trees_and_relative_paths() {
    let code = code_only(
        "use crate::{a::{B, c::D}, e};\nuse super::f::G;\n// crate::comment::X\n\
         let s = \"crate::string::Y\";\n#[cfg(test)]\nmod tests { use crate::z::Z; }\n",
    );
    let module = vec!["p".to_string(), "q".to_string()];
    let got: BTreeSet<String> = named_paths(&code, &module)
        .iter()
        .map(|p| name(p))
        .collect();
    let want: BTreeSet<String> = ["a::B", "a::c::D", "e", "p::f::G"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(got, want);
}

#[test]
fn a_planted_cycle_is_found() {
    let dir = std::env::temp_dir().join(format!("arch-cycle-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("x")).expect("mkdir");
    std::fs::write(dir.join("lib.rs"), "pub mod a; pub mod x;").expect("write");
    std::fs::write(dir.join("a.rs"), "use crate::x::y::Thing;").expect("write");
    std::fs::write(dir.join("x/mod.rs"), "pub mod y;").expect("write");
    std::fs::write(dir.join("x/y.rs"), "fn f() { super::super::a::g() }").expect("write");
    let (g, _) = graph(&dir);
    let found = cycles(&g);
    std::fs::remove_dir_all(&dir).expect("clean");
    assert_eq!(found.len(), 1, "{g:?}");
    assert_eq!(found[0].len(), 2);
}
