//! The crate's top-level modules form layers: no `crate::` path climbs to a higher layer, and none
//! closes a cycle within a layer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The intended layers, bottom first: a module may use modules in its own layer and below.
const LAYERS: &[&[&str]] = &[
    &["model", "calendar", "files", "net", "service", "telemetry"],
    &[
        "parse",
        "attach",
        "caps",
        "config",
        "thread",
        "classify",
        "commands",
        "lifecycle",
        "sla",
    ],
    &["store", "templates"],
    &["mailbox", "outbox"],
    &["casework"],
    &["ingest", "scheduler"],
    &["import", "daemon"],
    &["cli"],
];

/// One file of non-test code: its top-level module, its path (for messages) and its text.
struct Source {
    module: String,
    file: String,
    text: String,
}

/// Module -> module, each with the `file:line` where the reference was first seen.
type Edges = BTreeMap<(String, String), String>;

#[test]
fn modules_form_layers_without_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("read src/lib.rs");
    let declared = declared_modules(&lib);
    let edges = find_edges(&crate_sources(&src));
    println!("{} edges between top-level modules:", edges.len());
    for ((from, to), at) in &edges {
        println!("  {from} -> {to} ({at})");
    }
    let problems = layer_problems(LAYERS, &declared, &edges);
    assert!(
        problems.is_empty(),
        "the modules are not layered as LAYERS in tests/it/layers.rs says:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_finds_cycles_and_skips_comments_and_test_code() {
    let alpha = "//! Next to [crate::gamma].\n\
                 use crate::beta::B;\n\
                 /// Unlike [`crate::gamma`], /* nor crate::gamma */ this one is real.\n\
                 const URL: &str = \"http://crate::gamma\"; const C: char = '{';\n\
                 #[cfg(test)]\n\
                 mod tests {\n\
                     use crate::gamma::G;\n\
                     fn t() { let _ = ('}', \"}\"); }\n\
                 }\n\
                 #[cfg(test)]\n\
                 pub(crate) mod testing;\n\
                 fn after() { crate::delta::d(); }\n";
    let beta = "use crate::{\n    self as root,\n    alpha::A,\n    delta::{D, E},\n};\n\
                /* crate::gamma\n */\n";
    let sources = [
        Source {
            module: "alpha".into(),
            file: "src/alpha.rs".into(),
            text: alpha.into(),
        },
        Source {
            module: "beta".into(),
            file: "src/beta/mod.rs".into(),
            text: beta.into(),
        },
    ];
    let edges = find_edges(&sources);
    let found: Vec<String> = edges
        .iter()
        .map(|((from, to), at)| format!("{from} -> {to} ({at})"))
        .collect();
    assert_eq!(
        found,
        [
            "alpha -> beta (src/alpha.rs:2)",
            "alpha -> delta (src/alpha.rs:12)",
            "beta -> alpha (src/beta/mod.rs:3)",
            "beta -> delta (src/beta/mod.rs:4)",
        ]
    );

    let mut code = blank_comments_and_literals(alpha);
    assert_eq!(remove_test_items(&mut code), ["testing"]);

    let cycles = find_cycles(&edges);
    assert_eq!(cycles, [["alpha", "beta", "alpha"]]);
    assert_eq!(
        describe_cycle(&cycles[0], &edges),
        "alpha -> beta -> alpha (alpha -> beta: src/alpha.rs:2; beta -> alpha: src/beta/mod.rs:3)"
    );

    let declared =
        declared_modules("//! mod fake;\npub mod alpha;\nmod beta;\npub(crate) mod omega;\n");
    assert_eq!(declared, ["alpha", "beta", "omega"]);
    let problems = layer_problems(&[&["alpha", "beta"], &["gamma"]], &declared, &edges);
    assert_eq!(
        problems,
        [
            "omega is declared in src/lib.rs but is in no layer",
            "gamma is in layer 1 but is not declared in src/lib.rs",
            "alpha -> delta (src/alpha.rs:12): crate::delta is in no layer",
            "beta -> delta (src/beta/mod.rs:4): crate::delta is in no layer",
            "cycle within layer 0: alpha -> beta -> alpha \
             (alpha -> beta: src/alpha.rs:2; beta -> alpha: src/beta/mod.rs:3)",
        ]
    );
    let upward = Edges::from([(("alpha".into(), "gamma".into()), "src/alpha.rs:9".into())]);
    assert_eq!(
        layer_problems(
            &[&["alpha"], &["gamma"]],
            &["alpha".to_string(), "gamma".to_string()],
            &upward
        ),
        ["alpha -> gamma (src/alpha.rs:9): layer 0 uses layer 1"]
    );
}

/// The non-test files under `src` (roots and test-only files left out), sorted by path.
fn crate_sources(src: &Path) -> Vec<Source> {
    let mut files = Vec::new();
    rust_files(src, src, &mut files);
    files.sort();
    let texts: Vec<(PathBuf, String)> = files
        .into_iter()
        .map(|rel| {
            let text = std::fs::read_to_string(src.join(&rel)).expect("read a source file");
            (rel, text)
        })
        .collect();
    let mut test_only = Vec::new();
    for (rel, text) in &texts {
        let mut code = blank_comments_and_literals(text);
        for name in remove_test_items(&mut code) {
            test_only.push(module_dir(rel).join(name));
        }
    }
    texts
        .into_iter()
        .filter(|(rel, _)| !is_root(rel) && !is_test_file(rel))
        .filter(|(rel, _)| {
            !test_only
                .iter()
                .any(|t| *rel == t.with_extension("rs") || rel.starts_with(t))
        })
        .map(|(rel, text)| Source {
            module: top_module(&rel),
            file: format!("src/{}", rel.display()),
            text,
        })
        .collect()
}

/// Collects the `.rs` files under `dir` into `out`, as paths relative to `src`.
fn rust_files(src: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a source directory") {
        let path = entry.expect("a source directory entry").path();
        if path.is_dir() {
            rust_files(src, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path.strip_prefix(src).expect("under src").to_path_buf());
        }
    }
}

/// Whether `rel` is a crate root (`lib.rs`, `main.rs`), which is not a source of edges.
fn is_root(rel: &Path) -> bool {
    rel == Path::new("lib.rs") || rel == Path::new("main.rs")
}

/// Whether `rel` is test code by its name: `tests.rs`, `*_tests.rs`, or under a `tests/` directory.
fn is_test_file(rel: &Path) -> bool {
    let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    name == "tests.rs"
        || name.ends_with("_tests.rs")
        || rel
            .parent()
            .is_some_and(|p| p.components().any(|c| c.as_os_str() == "tests"))
}

/// The directory holding the files of the child modules `rel` declares with `mod NAME;`.
fn module_dir(rel: &Path) -> PathBuf {
    let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if matches!(name, "mod.rs" | "lib.rs" | "main.rs") {
        rel.parent().unwrap_or(Path::new("")).to_path_buf()
    } else {
        rel.with_extension("")
    }
}

/// The top-level module a file belongs to: its first path component, without `.rs`.
fn top_module(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .expect("a file name")
        .as_os_str()
        .to_string_lossy();
    first.strip_suffix(".rs").unwrap_or(&first).to_string()
}

/// The modules `lib` declares with `mod X;`, `pub mod X;` or `pub(...) mod X;` lines.
fn declared_modules(lib: &str) -> Vec<String> {
    let mut code = blank_comments_and_literals(lib);
    remove_test_items(&mut code);
    let code: String = code.into_iter().collect();
    code.lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = match line.strip_prefix("pub(") {
                Some(rest) => rest.split_once(')')?.1.trim_start(),
                None => line.strip_prefix("pub ").unwrap_or(line),
            };
            Some(
                line.strip_prefix("mod ")?
                    .strip_suffix(';')?
                    .trim()
                    .to_string(),
            )
        })
        .collect()
}

/// Every reference from one top-level module to another, by `crate::NAME` outside test code.
fn find_edges(sources: &[Source]) -> Edges {
    let mut edges = Edges::new();
    for source in sources {
        let mut code = blank_comments_and_literals(&source.text);
        remove_test_items(&mut code);
        for (name, line) in crate_refs(&code) {
            if name != source.module {
                let at = format!("{}:{line}", source.file);
                edges.entry((source.module.clone(), name)).or_insert(at);
            }
        }
    }
    edges
}

/// `text` with comments and string and char literals blanked; newlines stay, so lines still match.
fn blank_comments_and_literals(text: &str) -> Vec<char> {
    let mut code: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < code.len() {
        match literal_or_comment_end(&code, i) {
            Some(end) => {
                blank(&mut code[i..end]);
                i = end;
            }
            None => i += 1,
        }
    }
    code
}

/// Where the comment or literal starting at `i` ends (exclusive), if one starts there.
fn literal_or_comment_end(c: &[char], i: usize) -> Option<usize> {
    let rest = &c[i..];
    if rest.starts_with(&['/', '/']) {
        Some(
            rest.iter()
                .position(|&ch| ch == '\n')
                .map_or(c.len(), |n| i + n),
        )
    } else if rest.starts_with(&['/', '*']) {
        Some(block_comment_end(c, i))
    } else if let Some(end) = raw_string_end(c, i) {
        Some(end)
    } else if c[i] == '"' {
        Some(string_end(c, i))
    } else if c[i] == '\'' && c.get(i + 1) == Some(&'\\') {
        let tail = c.get(i + 3..).unwrap_or_default();
        Some(
            tail.iter()
                .position(|&ch| ch == '\'')
                .map_or(c.len(), |n| i + 3 + n + 1),
        )
    } else if c[i] == '\'' && c.get(i + 2) == Some(&'\'') {
        Some(i + 3)
    } else {
        None
    }
}

/// The end of the (possibly nested) block comment starting at `i`.
fn block_comment_end(c: &[char], i: usize) -> usize {
    let (mut depth, mut j) = (0, i);
    while j < c.len() {
        if c[j..].starts_with(&['/', '*']) {
            depth += 1;
            j += 2;
        } else if c[j..].starts_with(&['*', '/']) {
            depth -= 1;
            j += 2;
            if depth == 0 {
                return j;
            }
        } else {
            j += 1;
        }
    }
    c.len()
}

/// The end of the raw string (`r"…"`, `br#"…"#`, `cr"…"`) starting at `i`, if one starts there.
fn raw_string_end(c: &[char], i: usize) -> Option<usize> {
    if i > 0 && is_ident(c[i - 1]) {
        return None;
    }
    let mut j = i + usize::from(matches!(c[i], 'b' | 'c'));
    if c.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = c[j..].iter().take_while(|&&ch| ch == '#').count();
    j += hashes;
    if c.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < c.len() {
        if c[j] == '"'
            && c[j + 1..]
                .iter()
                .take(hashes)
                .filter(|&&ch| ch == '#')
                .count()
                == hashes
        {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(c.len())
}

/// The end of the `"…"` string starting at `i`, escapes included.
fn string_end(c: &[char], i: usize) -> usize {
    let mut j = i + 1;
    while j < c.len() {
        match c[j] {
            '\\' => j += 2,
            '"' => return j + 1,
            _ => j += 1,
        }
    }
    c.len()
}

/// Replaces every character but newlines with a space.
fn blank(chars: &mut [char]) {
    for ch in chars.iter_mut().filter(|ch| **ch != '\n') {
        *ch = ' ';
    }
}

/// Blanks every `#[cfg(test)]` item in `code`; returns the names of those that are `mod NAME;`.
fn remove_test_items(code: &mut [char]) -> Vec<String> {
    let attr: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut names = Vec::new();
    let mut i = 0;
    while i < code.len() {
        if !code[i..].starts_with(&attr) {
            i += 1;
            continue;
        }
        let (end, name) = item_end(code, i + attr.len());
        names.extend(name);
        blank(&mut code[i..end]);
        i = end;
    }
    names
}

/// The end of the item starting at `start` (at its `;` or its braces' match), and the module
/// name if it is an out-of-line `mod NAME;`.
fn item_end(code: &[char], start: usize) -> (usize, Option<String>) {
    let mut depth = 0;
    for (j, &ch) in code.iter().enumerate().skip(start) {
        match ch {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ';' if depth == 0 => {
                let header: String = code[start..j].iter().collect();
                let mut words = header.split_whitespace().skip_while(|w| *w != "mod");
                return (j + 1, words.nth(1).map(str::to_string));
            }
            '{' if depth == 0 => return (matching_brace(code, j), None),
            _ => {}
        }
    }
    (code.len(), None)
}

/// The index just past the `}` matching the `{` at `open`.
fn matching_brace(code: &[char], open: usize) -> usize {
    let mut depth = 0;
    for (k, &ch) in code.iter().enumerate().skip(open) {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return k + 1;
                }
            }
            _ => {}
        }
    }
    code.len()
}

/// Each top-level name after `crate::` (each item of a `crate::{…}` group), with its line.
fn crate_refs(code: &[char]) -> Vec<(String, usize)> {
    let word: Vec<char> = "crate".chars().collect();
    let mut refs = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let at_word = code[i..].starts_with(&word)
            && (i == 0 || !is_ident(code[i - 1]))
            && code.get(i + word.len()).is_none_or(|&ch| !is_ident(ch));
        if !at_word {
            i += 1;
            continue;
        }
        let mut j = skip_whitespace(code, i + word.len());
        if !code[j..].starts_with(&[':', ':']) {
            i = j;
            continue;
        }
        j = skip_whitespace(code, j + 2);
        if code.get(j) == Some(&'{') {
            let end = matching_brace(code, j);
            let (mut depth, mut expect_item) = (0, true);
            for k in j + 1..end.saturating_sub(1) {
                match code[k] {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => expect_item = true,
                    ch if expect_item && !ch.is_whitespace() => {
                        expect_item = false;
                        refs.push((ident_at(code, k), line_at(code, k)));
                    }
                    _ => {}
                }
            }
            i = end;
        } else {
            refs.push((ident_at(code, j), line_at(code, j)));
            i = j;
        }
    }
    refs.retain(|(name, _)| !matches!(name.as_str(), "" | "self" | "super" | "crate"));
    refs
}

/// Whether `ch` can be part of an identifier.
fn is_ident(ch: char) -> bool {
    ch.is_alphanumeric() || ch == '_'
}

/// The first index at or after `i` that is not whitespace.
fn skip_whitespace(code: &[char], i: usize) -> usize {
    i + code[i.min(code.len())..]
        .iter()
        .take_while(|ch| ch.is_whitespace())
        .count()
}

/// The identifier starting at `i` (empty if none does).
fn ident_at(code: &[char], i: usize) -> String {
    code[i..].iter().take_while(|&&ch| is_ident(ch)).collect()
}

/// The 1-based line of index `i`.
fn line_at(code: &[char], i: usize) -> usize {
    1 + code[..i].iter().filter(|&&ch| ch == '\n').count()
}

/// Every problem with `edges` against `layers` and the modules `declared` in lib.rs.
fn layer_problems(layers: &[&[&str]], declared: &[String], edges: &Edges) -> Vec<String> {
    let mut problems = Vec::new();
    let mut layer_of = BTreeMap::new();
    for (n, layer) in layers.iter().enumerate() {
        for &module in *layer {
            if layer_of.insert(module, n).is_some() {
                problems.push(format!("{module} is listed in more than one layer"));
            }
        }
    }
    for module in declared {
        if !layer_of.contains_key(module.as_str()) {
            problems.push(format!(
                "{module} is declared in src/lib.rs but is in no layer"
            ));
        }
    }
    for (module, n) in &layer_of {
        if !declared.iter().any(|d| d == module) {
            problems.push(format!(
                "{module} is in layer {n} but is not declared in src/lib.rs"
            ));
        }
    }
    let mut within = BTreeMap::<usize, Edges>::new();
    for ((from, to), at) in edges {
        match (layer_of.get(from.as_str()), layer_of.get(to.as_str())) {
            (Some(a), Some(b)) if a < b => {
                problems.push(format!("{from} -> {to} ({at}): layer {a} uses layer {b}"));
            }
            (Some(a), Some(b)) if a == b => {
                within
                    .entry(*a)
                    .or_default()
                    .insert((from.clone(), to.clone()), at.clone());
            }
            (Some(_), Some(_)) => {}
            (None, _) => problems.push(format!("{from} -> {to} ({at}): {from} is in no layer")),
            (_, None) => {
                problems.push(format!("{from} -> {to} ({at}): crate::{to} is in no layer"));
            }
        }
    }
    for (n, layer_edges) in &within {
        for cycle in find_cycles(layer_edges) {
            let cycle = describe_cycle(&cycle, layer_edges);
            problems.push(format!("cycle within layer {n}: {cycle}"));
        }
    }
    problems
}

/// The cycles a depth-first search of `edges` closes, each as its modules with the first repeated.
fn find_cycles(edges: &Edges) -> Vec<Vec<String>> {
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        graph.entry(from).or_default().push(to);
        graph.entry(to).or_default();
    }
    let (mut done, mut path, mut cycles) = (Vec::new(), Vec::new(), Vec::new());
    for &node in graph.keys() {
        visit(node, &graph, &mut done, &mut path, &mut cycles);
    }
    cycles
}

/// Visits `node` depth-first, recording a cycle whenever an edge leads back onto `path`.
fn visit<'a>(
    node: &'a str,
    graph: &BTreeMap<&'a str, Vec<&'a str>>,
    done: &mut Vec<&'a str>,
    path: &mut Vec<&'a str>,
    cycles: &mut Vec<Vec<String>>,
) {
    if done.contains(&node) {
        return;
    }
    if let Some(start) = path.iter().position(|&n| n == node) {
        let mut cycle: Vec<String> = path[start..].iter().map(|n| n.to_string()).collect();
        cycle.push(node.to_string());
        cycles.push(cycle);
        return;
    }
    path.push(node);
    for &next in &graph[node] {
        visit(next, graph, done, path, cycles);
    }
    path.pop();
    done.push(node);
}

/// `a -> b -> a` followed by where each of its edges was seen.
fn describe_cycle(cycle: &[String], edges: &Edges) -> String {
    let steps: Vec<String> = cycle
        .windows(2)
        .map(|pair| {
            let at = &edges[&(pair[0].clone(), pair[1].clone())];
            format!("{} -> {}: {at}", pair[0], pair[1])
        })
        .collect();
    format!("{} ({})", cycle.join(" -> "), steps.join("; "))
}
