//! What one view update costs on the wire: the view tree of a 500 x 10 table (the
//! frame benchmark's panel) encoded and decoded as JSON, our format, against postcard
//! on the same content, in the same run.
//!
//! Postcard cannot carry our internally tagged `Node` (it is not self-describing), so
//! the postcard side uses an externally tagged copy of the three node kinds this tree
//! has, defined below; the bytes are the same content. One update costs an encode in
//! the plugin and two decodes (the kernel checks the view, the shell reads it).
//!
//! Run: `cargo bench -p ucdesk-plugin-api --bench view_codec` (`VIEW_ROWS=N` for
//! another size).

use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use ucdesk_plugin_api::view::{Node, TableColumn, TableRow, TextStyle, View};

mod wire {
    use super::*;

    #[derive(Serialize, Deserialize)]
    pub struct View {
        pub schema: u32,
        pub root: Node,
        pub badge: Option<u32>,
    }

    #[derive(Serialize, Deserialize)]
    pub enum Node {
        Column { children: Vec<Node> },
        Text { text: String, style: u8, color: Option<String>, selectable: bool },
        Table { id: String, columns: Vec<(String, Option<f32>, bool)>, rows: Vec<(String, Vec<String>)> },
    }

    pub fn from(v: &super::View) -> View {
        View { schema: v.schema, root: node(&v.root), badge: v.badge }
    }

    fn node(n: &super::Node) -> Node {
        match n {
            super::Node::Column { children } => {
                Node::Column { children: children.iter().map(node).collect() }
            }
            super::Node::Text { text, color, selectable, .. } => {
                Node::Text { text: text.clone(), style: 1, color: color.clone(), selectable: *selectable }
            }
            super::Node::Table { id, columns, rows, .. } => Node::Table {
                id: id.clone(),
                columns: columns.iter().map(|c| (c.title.clone(), c.width, c.sortable)).collect(),
                rows: rows.iter().map(|r| (r.id.clone(), r.cells.clone())).collect(),
            },
            _ => unreachable!("the benchmark tree has columns, texts and a table"),
        }
    }
}

fn tree(rows: usize, cols: usize) -> View {
    let table = Node::Table {
        id: "table".into(),
        columns: (0..cols)
            .map(|c| TableColumn { title: format!("Col {c}"), width: None, sortable: true })
            .collect(),
        rows: (0..rows)
            .map(|r| TableRow {
                id: format!("r{r}"),
                cells: (0..cols).map(|c| format!("{}", (r * 31 + c * 7) % 1000)).collect(),
            })
            .collect(),
        selected: None,
        actions: Vec::new(),
        height: None,
    };
    let heading = Node::Text {
        text: "Widget gallery".into(),
        style: TextStyle::Heading,
        color: None,
        selectable: false,
        copy_on_click: false,
    };
    View::new(Node::Column { children: vec![heading, table] })
}

/// Median time of `f` over enough runs to fill about a second.
fn median(mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    f();
    let once = start.elapsed().max(Duration::from_micros(1));
    let runs = (Duration::from_secs(1).as_nanos() / once.as_nanos()).clamp(20, 5000) as usize;
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let rows: usize = std::env::var("VIEW_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    let view = tree(rows, 10);
    let json = view.to_bytes();
    let mirror = wire::from(&view);
    let post = postcard::to_allocvec(&mirror).expect("postcard encodes");

    let json_enc = median(|| {
        std::hint::black_box(view.to_bytes());
    });
    let json_dec = median(|| {
        std::hint::black_box(View::from_bytes(&json).expect("decodes"));
    });
    let post_enc = median(|| {
        std::hint::black_box(postcard::to_allocvec(&mirror).expect("encodes"));
    });
    let post_dec = median(|| {
        std::hint::black_box(postcard::from_bytes::<wire::View>(&post).expect("decodes"));
    });
    let per_update = |enc: Duration, dec: Duration| enc + dec * 2;
    let (j, p) = (per_update(json_enc, json_dec), per_update(post_enc, post_dec));
    println!("view of a {rows} x 10 table, median per operation (release build)");
    println!("| format | bytes | encode µs | decode µs | per update µs (1 encode + 2 decodes) |");
    println!("|---|---|---|---|---|");
    println!("| JSON (ours) | {} | {:.0} | {:.0} | {:.0} |", json.len(), us(json_enc), us(json_dec), us(j));
    println!("| postcard | {} | {:.0} | {:.0} | {:.0} |", post.len(), us(post_enc), us(post_dec), us(p));
    println!(
        "JSON / postcard: size {:.2}x, encode {:.2}x, decode {:.2}x, per update {:.2}x",
        json.len() as f64 / post.len() as f64,
        us(json_enc) / us(post_enc),
        us(json_dec) / us(post_dec),
        us(j) / us(p)
    );
    println!("at 10 updates a second JSON costs {:.1}% of one core", us(j) * 10.0 / 1e4);
}
