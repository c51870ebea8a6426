//! Rule conditions: the subset of Spring's expression language (SpEL) that OpenMetadata 1.6
//! policies use: its eight functions, `!`/`not`, `&&`/`and`, `||`/`or`, `==`/`!=`, parentheses,
//! `true`/`false` and single-quoted strings. A condition is parsed once, when its policy is
//! written; evaluation then walks the tree, so nothing a client writes is ever interpreted as
//! code. Errors carry OpenMetadata's prefixes (`Failed to parse - `, `Failed to evaluate - `).

use std::fmt;

/// The functions a condition may call (OpenMetadata 1.6's `RuleEvaluator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    NoOwner,
    IsOwner,
    MatchAllTags,
    MatchAnyTag,
    MatchTeam,
    InAnyTeam,
    HasAnyRole,
    HasDomain,
}

/// How a function is described by `GET /api/v1/policies/functions`.
pub struct FunctionInfo {
    pub function: Function,
    pub name: &'static str,
    pub input: &'static str,
    pub description: &'static str,
    pub examples: &'static [&'static str],
    /// Takes a list of names (tags, teams, roles) rather than nothing.
    pub takes_names: bool,
}

pub const FUNCTIONS: &[FunctionInfo] = &[
    FunctionInfo {
        function: Function::NoOwner,
        name: "noOwner",
        input: "none",
        description: "Returns true if the entity being accessed has no owner",
        examples: &["noOwner()", "!noOwner", "noOwner() || isOwner()"],
        takes_names: false,
    },
    FunctionInfo {
        function: Function::IsOwner,
        name: "isOwner",
        input: "none",
        description: "Returns true if the logged in user is the owner of the entity being accessed",
        examples: &["isOwner()", "!isOwner", "noOwner() || isOwner()"],
        takes_names: false,
    },
    FunctionInfo {
        function: Function::MatchAllTags,
        name: "matchAllTags",
        input: "List of comma separated tag or glossary fully qualified names",
        description: "Returns true if the entity being accessed has all the tags given as input",
        examples: &["matchAllTags('PersonalData.Personal', 'Tier.Tier1', 'Business Glossary.Clothing')"],
        takes_names: true,
    },
    FunctionInfo {
        function: Function::MatchAnyTag,
        name: "matchAnyTag",
        input: "List of comma separated tag or glossary fully qualified names",
        description: "Returns true if the entity being accessed has at least one of the tags given as input",
        examples: &["matchAnyTag('PersonalData.Personal', 'Tier.Tier1', 'Business Glossary.Clothing')"],
        takes_names: true,
    },
    FunctionInfo {
        function: Function::MatchTeam,
        name: "matchTeam",
        input: "None",
        description: "Returns true if the user and the resource belongs to the team hierarchy where this policy is attached. This allows restricting permissions to a resource to the members of the team hierarchy.",
        examples: &["matchTeam()"],
        takes_names: false,
    },
    FunctionInfo {
        function: Function::InAnyTeam,
        name: "inAnyTeam",
        input: "List of comma separated team names",
        description: "Returns true if the user belongs under the hierarchy of any of the teams in the given team list.",
        examples: &["inAnyTeam('marketing')"],
        takes_names: true,
    },
    FunctionInfo {
        function: Function::HasAnyRole,
        name: "hasAnyRole",
        input: "List of comma separated roles",
        description: "Returns true if the user (either direct or inherited from the parent teams) has one or more roles from the list.",
        examples: &["hasAnyRole('DataSteward', 'DataEngineer')"],
        takes_names: true,
    },
    FunctionInfo {
        function: Function::HasDomain,
        name: "hasDomain",
        input: "none",
        description: "Returns true if the logged in user is the has domain access of the entity being accessed",
        examples: &["hasDomain()", "!hasDomain()"],
        takes_names: false,
    },
];

impl Function {
    pub fn info(self) -> &'static FunctionInfo {
        FUNCTIONS.iter().find(|f| f.function == self).unwrap_or(&FUNCTIONS[0])
    }
}

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Bool(bool),
    Text(String),
    /// A bare name (SpEL would read it as a property, which the evaluator does not have).
    Property(String),
    Call { name: String, args: Vec<Expr> },
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Eq(Box<Expr>, Box<Expr>),
    Ne(Box<Expr>, Box<Expr>),
}

/// A condition as written, and its parse tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    text: String,
    expr: Expr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionError {
    Parse(String),
    Evaluate(String),
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConditionError::Parse(m) => write!(f, "Failed to parse - {m}"),
            ConditionError::Evaluate(m) => write!(f, "Failed to evaluate - {m}"),
        }
    }
}

/// What a condition can ask about the caller and the resource.
pub trait Facts {
    fn no_owner(&self) -> bool;
    fn is_owner(&self) -> bool;
    fn match_all_tags(&self, tags: &[String]) -> bool;
    fn match_any_tag(&self, tags: &[String]) -> bool;
    fn match_team(&self) -> bool;
    fn in_any_team(&self, teams: &[String]) -> bool;
    fn has_any_role(&self, roles: &[String]) -> bool;
    fn has_domain(&self) -> bool;
}

/// Conditions longer than this are refused: policies are written by people.
const MAX_LENGTH: usize = 4096;
/// Deeper nesting is refused, so that parsing and evaluation stay within a small stack.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    LParen,
    RParen,
    Comma,
    Not,
    And,
    Or,
    Eq,
    Ne,
    Text(String),
    Name(String),
}

fn tokens(text: &str) -> Result<Vec<(usize, Token)>, ConditionError> {
    let mut out = vec![];
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let two = |i: usize, s: &str| chars.get(i..i + 2).is_some_and(|w| w.iter().copied().eq(s.chars()));
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let token = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => Token::LParen,
            ')' => Token::RParen,
            ',' => Token::Comma,
            '&' if two(i, "&&") => Token::And,
            '|' if two(i, "||") => Token::Or,
            '=' if two(i, "==") => Token::Eq,
            '!' if two(i, "!=") => Token::Ne,
            '!' => Token::Not,
            '\'' => {
                let (text, end) = quoted(&chars, i)?;
                i = end;
                out.push((start, Token::Text(text)));
                continue;
            }
            c if c.is_alphabetic() || c == '_' => {
                let end = (i..chars.len()).find(|&j| !(chars[j].is_alphanumeric() || chars[j] == '_')).unwrap_or(chars.len());
                let word: String = chars[i..end].iter().collect();
                i = end;
                let token = match word.to_lowercase().as_str() {
                    "and" => Token::And,
                    "or" => Token::Or,
                    "not" => Token::Not,
                    "eq" => Token::Eq,
                    "ne" => Token::Ne,
                    _ => Token::Name(word),
                };
                out.push((start, token));
                continue;
            }
            other => return Err(ConditionError::Parse(format!("EL1069E: Unexpected character '{other}' at position {start}"))),
        };
        i += if matches!(token, Token::And | Token::Or | Token::Eq | Token::Ne) { 2 } else { 1 };
        out.push((start, token));
    }
    Ok(out)
}

/// A single-quoted string starting at `start`; `''` is a quote inside it (as in SpEL).
fn quoted(chars: &[char], start: usize) -> Result<(String, usize), ConditionError> {
    let mut text = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None => return Err(ConditionError::Parse(format!("EL1065E: Unexpected escape character or non-terminating string literal starting at position {start}"))),
            Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                text.push('\'');
                i += 2;
            }
            Some('\'') => return Ok((text, i + 1)),
            Some(c) => {
                text.push(*c);
                i += 1;
            }
        }
    }
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(_, t)| t)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).map(|(_, t)| t.clone());
        self.at += 1;
        t
    }

    fn position(&self) -> usize {
        self.tokens.get(self.at).map(|(p, _)| *p).unwrap_or_else(|| self.tokens.last().map_or(0, |(p, _)| p + 1))
    }

    fn error(&self, what: &str) -> ConditionError {
        ConditionError::Parse(format!("EL1041E: {what} at position {}", self.position()))
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Parser) -> Result<T, ConditionError>) -> Result<T, ConditionError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ConditionError::Parse(format!("the condition nests deeper than {MAX_DEPTH} levels")));
        }
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn or(&mut self) -> Result<Expr, ConditionError> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.next();
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ConditionError> {
        let mut left = self.unary()?;
        while self.peek() == Some(&Token::And) {
            self.next();
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ConditionError> {
        if self.peek() == Some(&Token::Not) {
            self.next();
            return self.nested(|p| Ok(Expr::Not(Box::new(p.unary()?))));
        }
        let left = self.primary()?;
        match self.peek() {
            Some(Token::Eq) => {
                self.next();
                Ok(Expr::Eq(Box::new(left), Box::new(self.primary()?)))
            }
            Some(Token::Ne) => {
                self.next();
                Ok(Expr::Ne(Box::new(left), Box::new(self.primary()?)))
            }
            _ => Ok(left),
        }
    }

    fn primary(&mut self) -> Result<Expr, ConditionError> {
        match self.next() {
            Some(Token::LParen) => {
                let inner = self.nested(Parser::or)?;
                match self.next() {
                    Some(Token::RParen) => Ok(inner),
                    _ => Err(self.error("Missing closing ')'")),
                }
            }
            Some(Token::Text(t)) => Ok(Expr::Text(t)),
            Some(Token::Name(n)) if n == "true" => Ok(Expr::Bool(true)),
            Some(Token::Name(n)) if n == "false" => Ok(Expr::Bool(false)),
            Some(Token::Name(n)) if self.peek() == Some(&Token::LParen) => {
                self.next();
                let args = self.nested(Parser::arguments)?;
                Ok(Expr::Call { name: n, args })
            }
            Some(Token::Name(n)) => Ok(Expr::Property(n)),
            Some(_) => {
                self.at -= 1;
                Err(self.error("Unexpected token"))
            }
            None => Err(self.error("Unexpectedly ran out of input")),
        }
    }

    fn arguments(&mut self) -> Result<Vec<Expr>, ConditionError> {
        let mut args = vec![];
        if self.peek() == Some(&Token::RParen) {
            self.next();
            return Ok(args);
        }
        loop {
            args.push(self.or()?);
            match self.next() {
                Some(Token::Comma) => continue,
                Some(Token::RParen) => return Ok(args),
                _ => return Err(self.error("Missing closing ')' of the method arguments")),
            }
        }
    }
}

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Bool(bool),
    Text(String),
}

impl Val {
    fn type_name(&self) -> &'static str {
        match self {
            Val::Bool(_) => "java.lang.Boolean",
            Val::Text(_) => "java.lang.String",
        }
    }
}

impl Condition {
    /// Parses a condition (syntax only; [`Condition::validate`] checks the calls).
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        if text.len() > MAX_LENGTH {
            return Err(ConditionError::Parse(format!("the condition is longer than {MAX_LENGTH} characters")));
        }
        let mut parser = Parser { tokens: tokens(text)?, at: 0, depth: 0 };
        if parser.tokens.is_empty() {
            return Err(ConditionError::Parse("EL1043E: Unexpected end of expression: the condition is empty".into()));
        }
        let expr = parser.or()?;
        if parser.at < parser.tokens.len() {
            return Err(parser.error("After parsing a valid expression, there is still more data in the expression"));
        }
        Ok(Condition { text: text.to_string(), expr })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every call names a known function with fitting arguments and the whole evaluates to a
    /// boolean (OpenMetadata runs the expression once with a dummy evaluator). Returns the names
    /// each name-taking function is called with, for the caller to check that they exist.
    pub fn validate(&self) -> Result<Vec<(Function, Vec<String>)>, ConditionError> {
        let mut calls = vec![];
        match check(&self.expr, &mut calls)? {
            Kind::Bool => Ok(calls),
            Kind::Text => Err(ConditionError::Evaluate("EL1001E: Type conversion problem, cannot convert from java.lang.String to java.lang.Boolean".into())),
        }
    }

    /// Whether the condition holds; anything that is not `true` is no match, as in
    /// OpenMetadata.
    pub fn holds(&self, facts: &dyn Facts) -> bool {
        matches!(eval(&self.expr, facts), Ok(Val::Bool(true)))
    }

    /// Whether the condition calls `function` anywhere.
    pub fn calls(&self, function: Function) -> bool {
        fn walk(e: &Expr, f: Function) -> bool {
            match e {
                Expr::Call { name, args } => name == f.info().name || args.iter().any(|a| walk(a, f)),
                Expr::Not(a) => walk(a, f),
                Expr::And(a, b) | Expr::Or(a, b) | Expr::Eq(a, b) | Expr::Ne(a, b) => walk(a, f) || walk(b, f),
                Expr::Bool(_) | Expr::Text(_) | Expr::Property(_) => false,
            }
        }
        walk(&self.expr, function)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Bool,
    Text,
}

fn function_named(name: &str) -> Option<&'static FunctionInfo> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

fn signature(name: &str, kinds: &[Kind]) -> String {
    let types: Vec<&str> = kinds.iter().map(|k| if *k == Kind::Bool { "java.lang.Boolean" } else { "java.lang.String" }).collect();
    format!("EL1004E: Method call: Method {name}({}) cannot be found", types.join(", "))
}

fn check(e: &Expr, calls: &mut Vec<(Function, Vec<String>)>) -> Result<Kind, ConditionError> {
    Ok(match e {
        Expr::Bool(_) => Kind::Bool,
        Expr::Text(_) => Kind::Text,
        Expr::Property(p) => return Err(ConditionError::Evaluate(format!("EL1008E: Property or field '{p}' cannot be found"))),
        Expr::Call { name, args } => {
            let kinds = args.iter().map(|a| check(a, calls)).collect::<Result<Vec<_>, _>>()?;
            let info = function_named(name).ok_or_else(|| ConditionError::Evaluate(signature(name, &kinds)))?;
            let fits = if info.takes_names { kinds.iter().all(|k| *k == Kind::Text) } else { kinds.is_empty() };
            if !fits {
                return Err(ConditionError::Evaluate(signature(name, &kinds)));
            }
            let names = args.iter().filter_map(|a| if let Expr::Text(t) = a { Some(t.clone()) } else { None }).collect();
            calls.push((info.function, names));
            Kind::Bool
        }
        Expr::Not(a) => match check(a, calls)? {
            Kind::Bool => Kind::Bool,
            Kind::Text => return Err(ConditionError::Evaluate("EL1001E: Type conversion problem, cannot convert from java.lang.String to boolean".into())),
        },
        Expr::And(a, b) | Expr::Or(a, b) => {
            for side in [a, b] {
                if check(side, calls)? != Kind::Bool {
                    return Err(ConditionError::Evaluate("EL1001E: Type conversion problem, cannot convert from java.lang.String to boolean".into()));
                }
            }
            Kind::Bool
        }
        Expr::Eq(a, b) | Expr::Ne(a, b) => {
            check(a, calls)?;
            check(b, calls)?;
            Kind::Bool
        }
    })
}

fn texts(args: &[Expr], facts: &dyn Facts) -> Result<Vec<String>, String> {
    args.iter()
        .map(|a| match eval(a, facts)? {
            Val::Text(t) => Ok(t),
            other => Err(format!("argument of type {}", other.type_name())),
        })
        .collect()
}

fn boolean(e: &Expr, facts: &dyn Facts) -> Result<bool, String> {
    match eval(e, facts)? {
        Val::Bool(b) => Ok(b),
        other => Err(format!("{} is not a boolean", other.type_name())),
    }
}

fn eval(e: &Expr, facts: &dyn Facts) -> Result<Val, String> {
    Ok(match e {
        Expr::Bool(b) => Val::Bool(*b),
        Expr::Text(t) => Val::Text(t.clone()),
        Expr::Property(p) => return Err(format!("no property {p}")),
        Expr::Not(a) => Val::Bool(!boolean(a, facts)?),
        Expr::And(a, b) => Val::Bool(boolean(a, facts)? && boolean(b, facts)?),
        Expr::Or(a, b) => Val::Bool(boolean(a, facts)? || boolean(b, facts)?),
        Expr::Eq(a, b) => Val::Bool(eval(a, facts)? == eval(b, facts)?),
        Expr::Ne(a, b) => Val::Bool(eval(a, facts)? != eval(b, facts)?),
        Expr::Call { name, args } => {
            let info = function_named(name).ok_or_else(|| format!("no function {name}"))?;
            let names = if info.takes_names { texts(args, facts)? } else { vec![] };
            Val::Bool(match info.function {
                Function::NoOwner => facts.no_owner(),
                Function::IsOwner => facts.is_owner(),
                Function::MatchAllTags => facts.match_all_tags(&names),
                Function::MatchAnyTag => facts.match_any_tag(&names),
                Function::MatchTeam => facts.match_team(),
                Function::InAnyTeam => facts.in_any_team(&names),
                Function::HasAnyRole => facts.has_any_role(&names),
                Function::HasDomain => facts.has_domain(),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Facts with fixed answers: owner or not, the target's tags, the caller's teams and roles.
    #[derive(Default)]
    struct Fixed {
        owner: bool,
        owned: bool,
        tags: Vec<&'static str>,
        teams: Vec<&'static str>,
        roles: Vec<&'static str>,
    }

    impl Facts for Fixed {
        fn no_owner(&self) -> bool {
            !self.owned
        }
        fn is_owner(&self) -> bool {
            self.owner
        }
        fn match_all_tags(&self, tags: &[String]) -> bool {
            tags.iter().all(|t| self.tags.contains(&t.as_str()))
        }
        fn match_any_tag(&self, tags: &[String]) -> bool {
            tags.iter().any(|t| self.tags.contains(&t.as_str()))
        }
        fn match_team(&self) -> bool {
            false
        }
        fn in_any_team(&self, teams: &[String]) -> bool {
            teams.iter().any(|t| self.teams.contains(&t.as_str()))
        }
        fn has_any_role(&self, roles: &[String]) -> bool {
            roles.iter().any(|r| self.roles.contains(&r.as_str()))
        }
        fn has_domain(&self) -> bool {
            true
        }
    }

    fn holds(text: &str, facts: &Fixed) -> bool {
        let c = Condition::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        c.validate().unwrap_or_else(|e| panic!("{text}: {e}"));
        c.holds(facts)
    }

    #[test]
    fn operators_and_functions_evaluate_like_spel() {
        let owner = Fixed { owner: true, owned: true, tags: vec!["PII.Sensitive", "Tier.Tier1"], teams: vec!["marketing"], roles: vec!["DataSteward"] };
        let stranger = Fixed { owned: true, ..Default::default() };
        assert!(holds("isOwner()", &owner) && !holds("isOwner()", &stranger));
        assert!(holds("!isOwner()", &stranger) && holds("not isOwner()", &stranger) && holds("NOT isOwner()", &stranger));
        assert!(holds("noOwner() || isOwner()", &owner) && !holds("noOwner() or isOwner()", &stranger));
        assert!(holds("isOwner() && matchAnyTag('PII.Sensitive')", &owner) && !holds("isOwner() and matchAnyTag('PII.Sensitive')", &stranger));
        assert!(holds("matchAllTags('PII.Sensitive', 'Tier.Tier1')", &owner) && !holds("matchAllTags('PII.Sensitive', 'Tier.Tier2')", &owner));
        assert!(holds("inAnyTeam('sales', 'marketing')", &owner) && holds("hasAnyRole('DataSteward')", &owner));
        assert!(holds("(isOwner() || noOwner()) && !hasAnyRole('Nope')", &owner));
        assert!(holds("isOwner() == true", &owner) && holds("isOwner() != true", &stranger));
        assert!(holds("true", &stranger) && !holds("false", &stranger));
        assert!(holds("matchAnyTag('it''s')", &Fixed { tags: vec!["it's"], ..Default::default() }), "'' is a quote");
        assert!(!holds("isOwner() || isOwner() && false", &stranger), "&& binds tighter than ||");
    }

    #[test]
    fn syntax_errors_fail_to_parse() {
        for bad in ["isOwner(", "isOwner() &&", "(isOwner()", "isOwner())", "matchAnyTag('x", "isOwner() $ noOwner()", "", "   ", "isOwner() isOwner()", "&& isOwner()"] {
            match Condition::parse(bad) {
                Err(e @ ConditionError::Parse(_)) => assert!(e.to_string().starts_with("Failed to parse - "), "{bad}: {e}"),
                other => panic!("{bad:?} should not parse: {other:?}"),
            }
        }
        let deep = format!("{}true{}", "(".repeat(200), ")".repeat(200));
        assert!(matches!(Condition::parse(&deep), Err(ConditionError::Parse(_))), "nesting is bounded");
        let nots = format!("{}true", "!".repeat(200));
        assert!(matches!(Condition::parse(&nots), Err(ConditionError::Parse(_))), "negation is bounded");
        assert!(matches!(Condition::parse(&"a".repeat(5000)), Err(ConditionError::Parse(_))), "length is bounded");
    }

    #[test]
    fn unknown_functions_and_wrong_arguments_fail_to_evaluate() {
        for (bad, message) in [
            ("fooBar()", "Failed to evaluate - EL1004E: Method call: Method fooBar() cannot be found"),
            ("isOwner('x')", "Failed to evaluate - EL1004E: Method call: Method isOwner(java.lang.String) cannot be found"),
            ("matchAnyTag(isOwner())", "Failed to evaluate - EL1004E: Method call: Method matchAnyTag(java.lang.Boolean) cannot be found"),
            ("!noOwner", "Failed to evaluate - EL1008E: Property or field 'noOwner' cannot be found"),
        ] {
            let err = Condition::parse(bad).and_then(|c| c.validate()).expect_err(bad);
            assert_eq!(err.to_string(), message, "{bad}");
        }
        assert!(matches!(Condition::parse("'text'").unwrap().validate(), Err(ConditionError::Evaluate(_))), "a string is not a boolean");
    }

    #[test]
    fn validation_reports_the_names_each_function_is_given() {
        let c = Condition::parse("matchAnyTag('PII.Sensitive') && inAnyTeam('sales') || hasAnyRole('A', 'B')").unwrap();
        let calls = c.validate().unwrap();
        assert_eq!(calls, vec![
            (Function::MatchAnyTag, vec!["PII.Sensitive".to_string()]),
            (Function::InAnyTeam, vec!["sales".to_string()]),
            (Function::HasAnyRole, vec!["A".to_string(), "B".to_string()]),
        ]);
        assert!(c.calls(Function::InAnyTeam) && !c.calls(Function::MatchTeam));
        assert_eq!(FUNCTIONS.len(), 8);
    }
}
