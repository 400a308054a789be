//! Which function a Lambda route names, and whether its endpoint is on this machine.

/// A function: a name, a partial ARN or a full ARN, and a qualifier (version or alias).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionRef {
    /// The name or ARN as the route gave it, without a qualifier suffix.
    pub function: String,
    /// The version or alias, if any.
    pub qualifier: Option<String>,
}

impl FunctionRef {
    /// Parses `name`, `name:qualifier`, `arn:aws:lambda:region:account:function:name[:qualifier]`.
    pub fn parse(text: &str) -> FunctionRef {
        let parts: Vec<&str> = text.split(':').collect();
        let (function, qualifier) = match parts.as_slice() {
            ["arn", _, "lambda", _, _, "function", _, qualifier] => {
                let cut = text.len() - qualifier.len() - 1;
                (text.get(..cut).unwrap_or(text), Some(*qualifier))
            }
            [name, qualifier] => (*name, Some(*qualifier)),
            _ => (text, None),
        };
        FunctionRef {
            function: function.to_owned(),
            qualifier: qualifier.filter(|q| !q.is_empty()).map(str::to_owned),
        }
    }

    /// The region named by a full ARN.
    pub fn region(&self) -> Option<&str> {
        let mut parts = self.function.split(':');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("arn"), Some(_), Some("lambda"), Some(region)) if !region.is_empty() => {
                Some(region)
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for FunctionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.qualifier {
            Some(qualifier) => write!(f, "{}:{qualifier}", self.function),
            None => f.write_str(&self.function),
        }
    }
}

/// Whether an endpoint URL points at this machine (no credentials needed, none looked up).
pub fn is_loopback(endpoint: &str) -> bool {
    let rest = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .unwrap_or(endpoint);
    let host = rest.split(['/', ':']).next().unwrap_or("");
    host == "localhost" || host.starts_with("127.") || rest.starts_with("[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_refs() {
        assert_eq!(FunctionRef::parse("prod:live").to_string(), "prod:live");
        let f = FunctionRef::parse("arn:aws:lambda:eu-west-1:123456789012:function:prod:live");
        assert_eq!(
            f.function,
            "arn:aws:lambda:eu-west-1:123456789012:function:prod"
        );
        assert_eq!(f.qualifier.as_deref(), Some("live"));
        assert_eq!(f.region(), Some("eu-west-1"));
        assert_eq!(FunctionRef::parse("prod").qualifier, None);
        let arn = FunctionRef::parse("arn:aws:lambda:us-east-1:1:function:prod");
        assert_eq!(arn.qualifier, None);
        assert!(is_loopback("http://127.0.0.1:9000"));
        assert!(is_loopback("http://localhost"));
        assert!(!is_loopback("https://lambda.us-east-1.amazonaws.com"));
    }
}
