//! `x-kubernetes-validations`: CEL rules evaluated with the `cel` crate, with
//! `self` bound to the value at the rule's node, converted by its schema
//! (`integer` as int, `number` as double). On create there is no old object:
//! transition rules (using `oldSelf`) are skipped, unless the rule sets
//! `optionalOldSelf`, where `oldSelf` is `optional.none()`.
//!
//! CEL cannot loop forever, but nested comprehensions over big lists can
//! run long; each rule's cost is estimated before it runs and the whole
//! manifest has a time budget, as the API server bounds rule cost.
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Instant;

use cel::objects::{Key, Map, OptionalValue};
use cel::{Context, Env, ExecutionError, ParseErrors, Program, Value as Cel};
use serde_json::Value;

use super::Validator;
use crate::claim::{CelLimits, schema};

/// Longest rule source we compile.
const MAX_RULE_LEN: usize = 4096;
/// Rules' running time for one manifest.
#[derive(Debug)]
pub struct Budget {
    started: Instant,
    exhausted: bool,
    limits: CelLimits,
}

impl Budget {
    /// A budget starting now.
    pub fn new(limits: CelLimits) -> Self {
        Self {
            started: Instant::now(),
            exhausted: false,
            limits,
        }
    }
}

impl Default for Budget {
    fn default() -> Self {
        Self::new(CelLimits::default())
    }
}

static ENV: LazyLock<Option<Arc<Env>>> = LazyLock::new(|| {
    let mut env = Env::stdlib();
    // Kubernetes offers the strings and lists libraries too.
    env.add_extension(cel::extensions::strings).ok()?;
    env.add_extension(cel::extensions::lists).ok()?;
    env.add_extension(cel::extensions::math).ok()?;
    Some(Arc::new(env))
});

/// Evaluates the rules at `node` against `value`.
pub fn rules(node: &Value, value: &Value, path: &str, v: &mut Validator<'_>) {
    let Some(rules) = node
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
    else {
        return;
    };
    let Some(env) = ENV.as_ref() else {
        v.warn(path, "cel environment unavailable; rules not checked");
        return;
    };
    let here = if path.is_empty() { "<root>" } else { path };
    let site = Site {
        path,
        here,
        this: to_cel(Some(node), value),
        longest: longest_list(value) as f64,
    };
    for rule in rules {
        if budget_spent(here, v) {
            return;
        }
        check(env, rule, &site, v);
    }
}

/// What every rule at one node shares.
struct Site<'a> {
    path: &'a str,
    /// `path`, or `<root>` for the root.
    here: &'a str,
    /// `self`, converted once for all rules.
    this: Cel,
    /// The longest list or map in the value, for cost estimates.
    longest: f64,
}

/// One rule that is to run, with where its errors are reported.
struct Rule<'a> {
    rule: &'a Value,
    source: &'a str,
    field: String,
    optional_old: bool,
}

/// Whether the manifest's time budget is used up; reports it the first time.
fn budget_spent(here: &str, v: &mut Validator<'_>) -> bool {
    if v.budget.exhausted {
        return true;
    }
    let time_budget = v.budget.limits.time_budget;
    if v.budget.started.elapsed() > time_budget {
        v.budget.exhausted = true;
        v.push(
            here,
            format!("validation rules ran over the `{time_budget:?}` budget; later rules were not evaluated"),
        );
        return true;
    }
    false
}

/// Checks one rule: skipped if too long, broken, a transition rule or too
/// expensive, else evaluated.
fn check(env: &Arc<Env>, rule: &Value, site: &Site<'_>, v: &mut Validator<'_>) {
    let Some(source) = rule.get("rule").and_then(Value::as_str) else {
        return;
    };
    let field = field_path(rule, site);
    let Some(program) = program_for(env, source, &field, v) else {
        return;
    };
    let optional_old = rule.get("optionalOldSelf").and_then(Value::as_bool) == Some(true);
    if program.references().has_variable("oldSelf") && !optional_old {
        // A transition rule: only evaluated on update.
        return;
    }
    let cost = estimated_cost(source, site.longest);
    let max_cost = v.budget.limits.max_rule_cost;
    if cost > max_cost {
        v.push(
            &field,
            format!("rule `{source}` is too expensive to evaluate: estimated cost `{cost:e}` is over `{max_cost:e}`"),
        );
        return;
    }
    let rule = Rule {
        rule,
        source,
        field,
        optional_old,
    };
    evaluate(env, &program, &rule, &site.this, v);
}

/// Where a rule's errors go: its `fieldPath` under the node, else the node.
fn field_path(rule: &Value, site: &Site<'_>) -> String {
    match rule.get("fieldPath").and_then(Value::as_str) {
        Some(f) if !f.is_empty() => schema::join(site.path, f.trim_start_matches('.')),
        _ => site.here.to_string(),
    }
}

/// The compiled rule, or `None` with a warning when it is too long or does
/// not compile.
fn program_for(
    env: &Env,
    source: &str,
    field: &str,
    v: &mut Validator<'_>,
) -> Option<Arc<Program>> {
    if source.len() > MAX_RULE_LEN {
        v.warn(
            field,
            format!("rule is longer than `{MAX_RULE_LEN}` bytes; not checked"),
        );
        return None;
    }
    match compiled(env, source) {
        Ok(p) => Some(p),
        Err(e) => {
            v.warn(
                field,
                format!("rule `{source}` not checked: {}", one_line(&e.to_string())),
            );
            None
        }
    }
}

/// The rule's length times the longest list to the power of its nested
/// comprehensions.
fn estimated_cost(source: &str, longest: f64) -> f64 {
    let comprehensions = ["all", "exists", "exists_one", "map", "filter"]
        .iter()
        .map(|m| source.matches(&format!(".{m}(")).count())
        .sum::<usize>();
    // Literal lists in the rule iterate too, not only lists in the data.
    let longest = longest.max(longest_literal(source) as f64);
    source.len() as f64 * longest.max(1.0).powi(comprehensions as i32)
}

/// Runs the rule with `self` bound and reports a failure, an error, or
/// what this validator cannot check.
fn evaluate(env: &Arc<Env>, program: &Program, rule: &Rule<'_>, this: &Cel, v: &mut Validator<'_>) {
    let (source, field) = (rule.source, rule.field.as_str());
    let mut ctx = Context::with_env(Arc::clone(env));
    ctx.add_variable_from_value("self", this.clone());
    if rule.optional_old {
        ctx.add_variable_from_value("oldSelf", Cel::Opaque(Arc::new(OptionalValue::none())));
    }
    match program.execute(&ctx) {
        Ok(Cel::Bool(true)) => {}
        Ok(Cel::Bool(false)) => {
            let message = message(env, rule.rule, &ctx, source);
            v.push(field, message);
        }
        Ok(other) => v.warn(
            field,
            format!("rule `{source}` returned `{other:?}`, not a boolean; not checked"),
        ),
        Err(e) if unsupported(&e) => v.warn(
            field,
            format!(
                "rule `{source}` uses what this validator lacks ({e}); the API server checks it"
            ),
        ),
        Err(e) => v.push(
            field,
            format!(
                "{} evaluating rule `{source}`",
                one_line(&e.to_string()).to_lowercase()
            ),
        ),
    }
}

/// Compiled programs, shared across calls: a definition's rules are the
/// same on every render. Bounded so hostile schemas cannot grow it.
fn compiled(env: &Env, source: &str) -> Result<Arc<Program>, ParseErrors> {
    static CACHE: LazyLock<Mutex<HashMap<String, Arc<Program>>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));
    if let Ok(cache) = CACHE.lock()
        && let Some(p) = cache.get(source)
    {
        return Ok(Arc::clone(p));
    }
    let program = Arc::new(env.compile(source)?);
    if let Ok(mut cache) = CACHE.lock() {
        if cache.len() >= 1024 {
            cache.clear();
        }
        cache.insert(source.to_string(), Arc::clone(&program));
    }
    Ok(program)
}

/// The rule's `messageExpression` result, else its `message`, else
/// Kubernetes' own wording.
fn message(env: &Env, rule: &Value, ctx: &Context<'_, '_>, source: &str) -> String {
    let fixed = rule
        .get("message")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("failed rule: `{source}`"));
    let Some(expr) = rule.get("messageExpression").and_then(Value::as_str) else {
        return fixed;
    };
    match compiled(env, expr).map(|p| p.execute(ctx)) {
        Ok(Ok(Cel::String(s))) if !s.trim().is_empty() => one_line(&s),
        _ => fixed,
    }
}

/// Errors from features this crate lacks (Kubernetes' `quantity`, `url`,
/// `ip` libraries, timestamps): the server would evaluate them, so we do
/// not reject on them.
fn unsupported(e: &ExecutionError) -> bool {
    matches!(
        e,
        ExecutionError::UndeclaredReference(_)
            | ExecutionError::NoSuchOverload(_)
            | ExecutionError::NotSupportedAsMethod { .. }
            | ExecutionError::UnsupportedTargetType { .. }
    )
}

/// JSON to CEL, typed by the schema where it says `number` (a double even
/// when written as `3`).
fn to_cel(node: Option<&Value>, v: &Value) -> Cel {
    match v {
        Value::Null => Cel::Null,
        Value::Bool(b) => Cel::Bool(*b),
        Value::Number(n) => {
            let double = node.and_then(schema::ty) == Some("number");
            match (n.as_i64(), n.as_u64()) {
                _ if double => Cel::Float(n.as_f64().unwrap_or_default()),
                (Some(i), _) => Cel::Int(i),
                (None, Some(u)) => Cel::UInt(u),
                _ => Cel::Float(n.as_f64().unwrap_or_default()),
            }
        }
        Value::String(s) => Cel::String(Arc::new(s.clone())),
        Value::Array(items) => {
            let item = node.and_then(schema::items);
            Cel::List(Arc::new(items.iter().map(|i| to_cel(item, i)).collect()))
        }
        Value::Object(map) => {
            let entries: HashMap<Key, Cel> = map
                .iter()
                .map(|(k, v)| {
                    let child = node.and_then(|n| schema::child(n, k));
                    (Key::String(Arc::new(k.clone())), to_cel(child, v))
                })
                .collect();
            Cel::Map(Map {
                map: Arc::new(entries),
            })
        }
    }
}

/// Items in the longest list or map literal of a rule's source: top-level
/// commas inside each `[...]`/`{...}`, plus one. Brackets inside string
/// literals are skipped.
fn longest_literal(source: &str) -> usize {
    let (mut stack, mut longest, mut quote) = (Vec::<usize>::new(), 0, None::<char>);
    let mut chars = source.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{' | '(') => stack.push(1),
            (None, ']' | '}' | ')') => {
                if let Some(n) = stack.pop() {
                    longest = longest.max(n);
                }
            }
            (None, ',') => {
                if let Some(n) = stack.last_mut() {
                    *n += 1;
                }
            }
            _ => {}
        }
    }
    longest
}

/// The length of the longest list or map anywhere in `v`.
fn longest_list(v: &Value) -> usize {
    match v {
        Value::Array(a) => a.iter().map(longest_list).fold(a.len(), usize::max),
        Value::Object(o) => o.values().map(longest_list).fold(o.len(), usize::max),
        _ => 0,
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::longest_literal;

    #[test]
    fn counts_literal_list_items() {
        let cases = [
            ("no literal", "self.a > 0", 0),
            ("a list of three", "self.a in [1, 2, 3]", 3),
            ("nested lists count separately", "[[1, 2], [3, 4, 5, 6]]", 4),
            ("commas in strings do not count", "self.a in ['x,y,z']", 1),
            ("a map literal", "{'a': 1, 'b': 2}.size() == 2", 2),
        ];
        for (reason, source, want) in cases {
            assert_eq!(longest_literal(source), want, "{reason}");
        }
    }
}
