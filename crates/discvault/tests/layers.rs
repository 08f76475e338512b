//! The domain crate's modules import each other without a cycle, and each layer only imports
//! layers below it (docs/ARCHITECTURE.md). Reads the sources as text: every `crate::NAME`
//! outside comments and test modules is an import of module NAME.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers, bottom up; a module may import its own layer's modules and those below.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "model",
        &[
            "model", "error", "digest", "media", "recovery", "progress", "pipe", "sparse",
            "config", "csvfile",
        ],
    ),
    ("catalog", &["catalog"]),
    (
        "stages",
        &[
            "accounts", "format", "scan", "source", "identify", "copies", "inspect", "locate",
            "status", "label", "cabinet", "quality", "report", "check", "audit", "vault", "ingest",
            "plan", "master", "verify", "readback", "repair", "restore", "migrate", "publish",
            "policy",
        ],
    ),
    (
        "orchestration",
        &[
            "orchestrate",
            "archive",
            "tasks",
            "webhooks",
            "watched",
            "uploads",
        ],
    ),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

/// The modules named after `crate::` in `text` (without comments and test modules).
fn imports(text: &str) -> BTreeSet<String> {
    let code: String = text
        .split("#[cfg(test)]")
        .next()
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a, b::c, d::{e, f}}`: the names at depth one.
            let mut depth = 1;
            let mut start = true;
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => start = true,
                    c if start && depth == 1 && !c.is_whitespace() => {
                        out.insert(ident(&group[k..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out
}

/// Module (first path component below src/) → the modules it imports.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = p.strip_prefix(&src).unwrap();
            let first = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let module = first.trim_end_matches(".rs").to_string();
            if module == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            g.entry(module).or_default().extend(imports(&text));
        }
    }
    let names: BTreeSet<String> = g.keys().cloned().collect();
    for (m, deps) in g.iter_mut() {
        deps.retain(|d| names.contains(d) && d != m);
    }
    g
}

#[test]
fn the_domain_crate_has_no_import_cycle() {
    let g = graph();
    assert!(g.len() > 20, "{g:?}");
    // Depth-first search; a back edge is a cycle, named with its path.
    fn visit(
        m: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
        cycles: &mut Vec<String>,
    ) {
        state.insert(m.to_string(), 1);
        path.push(m.to_string());
        for d in &g[m] {
            match state.get(d.as_str()) {
                Some(1) => {
                    let k = path.iter().position(|x| x == d).unwrap();
                    cycles.push(format!("{} -> {d}", path[k..].join(" -> ")));
                }
                Some(_) => {}
                None => visit(d, g, state, path, cycles),
            }
        }
        path.pop();
        state.insert(m.to_string(), 2);
    }
    let mut state = BTreeMap::new();
    let mut cycles = Vec::new();
    for m in g.keys() {
        if !state.contains_key(m.as_str()) {
            visit(m, &g, &mut state, &mut Vec::new(), &mut cycles);
        }
    }
    assert!(cycles.is_empty(), "import cycles: {cycles:#?}");
}

#[test]
fn every_module_has_a_layer_and_imports_only_its_own_and_lower_layers() {
    let g = graph();
    let mut wrong = Vec::new();
    for (m, deps) in &g {
        let Some(l) = layer_of(m) else {
            wrong.push(format!(
                "{m}: in no layer (add it to LAYERS and docs/ARCHITECTURE.md)"
            ));
            continue;
        };
        for d in deps {
            match layer_of(d) {
                Some(dl) if dl <= l => {}
                _ => wrong.push(format!(
                    "{m} ({}) imports {d} ({})",
                    LAYERS[l].0,
                    layer_of(d).map_or("no layer", |x| LAYERS[x].0)
                )),
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn the_reader_finds_imports_in_every_form() {
    let found = imports(
        "use crate::catalog::Catalog;\nuse crate::{digest::HashAlg, error::{Error, IoContext}, model};\n// crate::verify in a comment\nlet x = crate::copies::view(v);\n#[cfg(test)]\nmod tests { use crate::restore; }",
    );
    let want: BTreeSet<String> = ["catalog", "digest", "error", "model", "copies"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(found, want);
}
