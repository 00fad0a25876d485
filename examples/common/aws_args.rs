//! What the AWS tools share: the service flags (region, endpoint), the retry flags, the SDK's
//! configuration.

use std::time::Duration;

/// How long to wait for data, and how to back off and give up after failures.
#[derive(clap::Args)]
pub struct RetryArgs {
    /// Silence inside a fragment after which the connection is dropped and asked again.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub read_timeout_ms: u64,
    /// First wait after a failure (doubles per consecutive failure).
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub backoff_initial_ms: u64,
    /// Longest wait after a failure.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub backoff_max_ms: u64,
    /// Consecutive failures after which a stream gives up (or fragments are reported).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_failures: u32,
}

impl RetryArgs {
    /// `--read-timeout-ms`.
    pub fn read_timeout(&self) -> Duration {
        Duration::from_millis(self.read_timeout_ms)
    }

    /// `--backoff-initial-ms` and `--backoff-max-ms`.
    pub fn backoff(&self) -> (Duration, Duration) {
        (Duration::from_millis(self.backoff_initial_ms), Duration::from_millis(self.backoff_max_ms))
    }
}

/// Where the service is.
#[derive(clap::Args)]
pub struct ServiceArgs {
    /// AWS region (default: the usual AWS config chain).
    #[arg(long, value_name = "R")]
    pub region: Option<String>,
    /// Endpoint for GetDataEndpoint (tests, VPC endpoints).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

impl ServiceArgs {
    /// The SDK's configuration from the usual AWS chain, in `--region` if given.
    pub async fn sdk_config(&self) -> aws_types::SdkConfig {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(r) = &self.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        loader.load().await
    }
}
