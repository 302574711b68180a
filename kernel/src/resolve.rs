//! Dependency resolution: which plugins can start, in which order, and why the others
//! cannot. Pure data in, data out, so every rule is unit-tested here.

use std::collections::{BTreeMap, BTreeSet};
use ucdesk_plugin_api::Dependency;

/// A plugin that passed every check before resolution.
#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub version: semver::Version,
    pub requires: Vec<Dependency>,
    /// Contract namespaces it serves besides its id (`phone`, `presence`).
    pub provides: Vec<String>,
}

/// The outcome: a start order, and a reason for each plugin that must stay disabled.
#[derive(Debug, Default, PartialEq)]
pub struct Resolution {
    pub order: Vec<String>,
    pub disabled: BTreeMap<String, String>,
}

/// Resolves `nodes`. `unavailable` names plugins that were discovered but will not run
/// (id -> their state, e.g. "locked"), so that a dependent's reason can say so.
pub fn resolve(nodes: &[Node], unavailable: &BTreeMap<String, String>) -> Resolution {
    let by_id: BTreeMap<&str, &Node> = nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let mut disabled: BTreeMap<String, String> = BTreeMap::new();

    // 0. One provider per namespace: the first by id keeps it, so the outcome does not
    //    depend on discovery order.
    let mut claimed: BTreeMap<&str, &str> = BTreeMap::new();
    let mut sorted: Vec<&Node> = nodes.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    for n in sorted {
        for ns in &n.provides {
            let reason = if by_id.contains_key(ns.as_str()) {
                format!("provides '{ns}', which is the id of another plugin")
            } else if let Some(owner) = claimed.get(ns.as_str()) {
                format!("provides '{ns}', which '{owner}' already provides")
            } else {
                claimed.insert(ns, &n.id);
                continue;
            };
            disabled.entry(n.id.clone()).or_insert(reason);
        }
    }

    // 1. Direct problems: missing, unavailable, or the wrong version.
    for n in nodes {
        for dep in &n.requires {
            let reason = match by_id.get(dep.id.as_str()) {
                None => match unavailable.get(&dep.id) {
                    Some(state) => {
                        format!("requires '{}' ({}), which is {state}", dep.id, dep.version)
                    }
                    None => format!("requires '{}' ({}), which is not installed", dep.id, dep.version),
                },
                Some(found) if !dep.version.matches(&found.version) => format!(
                    "version conflict: requires '{}' {}, but {} is installed",
                    dep.id, dep.version, found.version
                ),
                Some(_) => continue,
            };
            disabled.entry(n.id.clone()).or_insert(reason);
        }
    }

    // 2. Cycles, each reported with its path.
    for cycle in cycles(nodes) {
        let path = cycle.iter().chain(cycle.first()).cloned().collect::<Vec<_>>().join(" -> ");
        for id in &cycle {
            disabled.entry(id.clone()).or_insert_with(|| format!("dependency cycle: {path}"));
        }
    }

    // 3. Whatever depends on a disabled plugin is disabled too, to a fixpoint.
    loop {
        let mut changed = false;
        for n in nodes {
            if disabled.contains_key(&n.id) {
                continue;
            }
            if let Some(dep) = n.requires.iter().find(|d| disabled.contains_key(&d.id)) {
                disabled.insert(n.id.clone(), format!("requires '{}', which is disabled", dep.id));
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }

    // 4. Start order of the rest: dependencies first, ties broken by id.
    let mut order = Vec::new();
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    let remaining: Vec<&Node> = nodes.iter().filter(|n| !disabled.contains_key(&n.id)).collect();
    while order.len() < remaining.len() {
        let next = remaining
            .iter()
            .filter(|n| !placed.contains(n.id.as_str()))
            .filter(|n| n.requires.iter().all(|d| placed.contains(d.id.as_str())))
            .min_by(|a, b| a.id.cmp(&b.id));
        let Some(next) = next else {
            // Unreachable after steps 1-3; if it ever happens, refuse rather than panic.
            for n in remaining.iter().filter(|n| !placed.contains(n.id.as_str())) {
                disabled.insert(n.id.clone(), "dependencies could not be ordered".into());
            }
            break;
        };
        placed.insert(&next.id);
        order.push(next.id.clone());
    }
    Resolution { order, disabled }
}

/// Every elementary cycle's members, found by depth-first search (each cycle once).
fn cycles(nodes: &[Node]) -> Vec<Vec<String>> {
    let by_id: BTreeMap<&str, &Node> = nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let mut found: Vec<Vec<String>> = Vec::new();
    let mut in_cycle: BTreeSet<String> = BTreeSet::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();

    fn visit<'a>(
        id: &'a str,
        by_id: &BTreeMap<&'a str, &'a Node>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
        found: &mut Vec<Vec<String>>,
        in_cycle: &mut BTreeSet<String>,
    ) {
        if let Some(pos) = stack.iter().position(|s| *s == id) {
            let cycle: Vec<String> = stack[pos..].iter().map(|s| s.to_string()).collect();
            if !cycle.iter().all(|c| in_cycle.contains(c)) {
                in_cycle.extend(cycle.iter().cloned());
                found.push(cycle);
            }
            return;
        }
        if done.contains(id) {
            return;
        }
        let Some(node) = by_id.get(id) else { return };
        stack.push(id);
        for dep in &node.requires {
            visit(dep.id.as_str(), by_id, stack, done, found, in_cycle);
        }
        stack.pop();
        done.insert(id);
    }

    for n in nodes {
        visit(&n.id, &by_id, &mut Vec::new(), &mut done, &mut found, &mut in_cycle);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_provider_per_namespace() {
        let mut a = node("deskphone", "1.0.0", &[]);
        a.provides = vec!["phone".into()];
        let mut b = node("softphone", "1.0.0", &[]);
        b.provides = vec!["phone".into()];
        let mut c = node("odd", "1.0.0", &[]);
        c.provides = vec!["softphone".into()];
        let r = resolve(&[b, c, a], &BTreeMap::new());
        assert_eq!(r.order, ["deskphone"]);
        assert_eq!(r.disabled["softphone"], "provides 'phone', which 'deskphone' already provides");
        assert_eq!(r.disabled["odd"], "provides 'softphone', which is the id of another plugin");
    }

    fn node(id: &str, version: &str, requires: &[(&str, &str)]) -> Node {
        Node {
            provides: Vec::new(),
            id: id.into(),
            version: version.parse().unwrap(),
            requires: requires
                .iter()
                .map(|(id, req)| Dependency { id: (*id).into(), version: req.parse().unwrap() })
                .collect(),
        }
    }

    #[test]
    fn orders_dependencies_first() {
        let nodes =
            [node("c", "1.0.0", &[("b", "^1")]), node("b", "1.2.0", &[("a", "^1")]), node("a", "1.0.0", &[])];
        let r = resolve(&nodes, &BTreeMap::new());
        assert_eq!(r.order, ["a", "b", "c"]);
        assert!(r.disabled.is_empty());
    }

    #[test]
    fn each_problem_has_its_own_reason() {
        let nodes = [
            node("hello", "1.0.0", &[]),
            node("ghostly", "1.0.0", &[("ghost", "^1")]),
            node("greedy", "1.0.0", &[("hello", "^2")]),
            node("cycle_a", "1.0.0", &[("cycle_b", "^1")]),
            node("cycle_b", "1.0.0", &[("cycle_a", "^1")]),
            node("sms_ui", "1.0.0", &[("sms", "*")]),
            node("downstream", "1.0.0", &[("greedy", "*")]),
        ];
        let unavailable = BTreeMap::from([("sms".to_string(), "locked".to_string())]);
        let r = resolve(&nodes, &unavailable);
        assert_eq!(r.order, ["hello"]);
        assert_eq!(r.disabled["ghostly"], "requires 'ghost' (^1), which is not installed");
        assert_eq!(r.disabled["greedy"], "version conflict: requires 'hello' ^2, but 1.0.0 is installed");
        assert_eq!(r.disabled["cycle_a"], "dependency cycle: cycle_a -> cycle_b -> cycle_a");
        assert_eq!(r.disabled["cycle_b"], "dependency cycle: cycle_a -> cycle_b -> cycle_a");
        assert_eq!(r.disabled["sms_ui"], "requires 'sms' (*), which is locked");
        assert_eq!(r.disabled["downstream"], "requires 'greedy', which is disabled");
    }

    #[test]
    fn a_dependent_of_a_cycle_is_not_itself_in_the_cycle() {
        let nodes = [
            node("a", "1.0.0", &[("b", "*")]),
            node("b", "1.0.0", &[("a", "*")]),
            node("c", "1.0.0", &[("a", "*")]),
        ];
        let r = resolve(&nodes, &BTreeMap::new());
        assert_eq!(r.disabled["c"], "requires 'a', which is disabled");
        assert!(r.disabled["a"].starts_with("dependency cycle"));
    }
}
