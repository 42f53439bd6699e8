//! Why an option or a configuration was refused, with librdkafka's codes.

/// Why an option was refused. The codes are librdkafka's `rd_kafka_conf_res_t`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// RD_KAFKA_CONF_UNKNOWN (-2)
    Unknown(String),
    /// RD_KAFKA_CONF_INVALID (-1)
    Invalid(String),
}

impl ConfigError {
    pub fn code(&self) -> i32 {
        match self {
            ConfigError::Unknown(_) => -2,
            ConfigError::Invalid(_) => -1,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            ConfigError::Unknown(m) | ConfigError::Invalid(m) => m,
        }
    }
}
