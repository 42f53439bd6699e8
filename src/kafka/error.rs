#![deny(unsafe_code)]
//! librdkafka-compatible error codes.
//!
//! An [`ErrorCode`] *is* a librdkafka `rd_kafka_resp_err_t` number:
//!
//! * `0` is success ([`ErrorCode::NO_ERROR`]),
//! * `-1` is the generic "Unknown broker error" ([`ErrorCode::UNKNOWN`]),
//! * numbers between -200 and -100 (exclusive) are librdkafka's *local* errors
//!   (named with a leading underscore, e.g. `_MSG_TIMED_OUT`),
//! * positive numbers are Kafka protocol (broker) error codes.
//!
//! Names and messages are exactly those returned by librdkafka 2.x's
//! `rd_kafka_err2name()` / `rd_kafka_err2str()` (table `rd_kafka_err_descs[]`
//! in `src/rdkafka.c`, values from `rd_kafka_resp_err_t` in `src/rdkafka.h`,
//! librdkafka v2.15.0). They form part of the C ABI compatibility contract, so
//! do not "fix" their wording. Known quirks carried over verbatim:
//!
//! * `_PARTITION_EOF` (-191) is a local code whose message is
//!   `"Broker: No more messages"` (not `"Local: ..."`).
//! * `UNKNOWN` (-1) is `"Unknown broker error"` and `NO_ERROR` (0) is
//!   `"Success"`; neither has a `"Local: "`/`"Broker: "` prefix.
//! * `_DESTROY` (-197) reads `"Local: Broker handle destroyed for termination"`.
//! * `STALE_CTRL_EPOCH` (11) reads `"Broker: StaleControllerEpochCode"`.
//! * `_INVALID_DIFFERENT_RECORD` (-138) starts with a lower-case
//!   `"Local: an invalid record ..."`.
//! * Broker codes 98, 99, 101, 102 and 104..=109 are not in librdkafka's table
//!   and are therefore unknown here as well.
//!
//! Codes that are not in the table (including librdkafka's `__BEGIN` (-200) and
//! `__END` (-100) sentinels) are "unknown": librdkafka formats them dynamically
//! (`"ERR_<n>?"` / `"Err-<n>?"`); this module instead returns the fixed static
//! texts [`UNKNOWN_CODE_NAME`] and [`UNKNOWN_CODE_MESSAGE`], and the number is
//! still shown by the [`Display`](fmt::Display) implementation.

use std::fmt;

/// A librdkafka-compatible error code (`rd_kafka_resp_err_t` number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub i32);

/// [`ErrorCode::name`] of a code that is not in the table.
pub const UNKNOWN_CODE_NAME: &str = "ERR_UNKNOWN_CODE";

/// [`ErrorCode::message`] of a code that is not in the table.
pub const UNKNOWN_CODE_MESSAGE: &str = "Unknown error code";

/// Defines, from one list, the associated constants, the lookup table and the
/// list returned by [`ErrorCode::all`]. The list must be in ascending order of
/// number (checked by the tests).
macro_rules! error_codes {
    ($( ($konst:ident, $num:literal, $name:literal, $msg:literal) ),* $(,)?) => {
        impl ErrorCode {
            $(
                #[doc = concat!("`", $name, "` (", stringify!($num), "): \"", $msg, "\"")]
                pub const $konst: ErrorCode = ErrorCode($num);
            )*
        }

        /// `(number, rd_kafka_err2name text, rd_kafka_err2str text)`, sorted by number.
        static TABLE: &[(i32, &str, &str)] = &[ $( ($num, $name, $msg) ),* ];

        /// Every known code, in the same (ascending) order as `TABLE`.
        static ALL: &[ErrorCode] = &[ $( ErrorCode::$konst ),* ];

        /// Rust constant identifier of each entry, for consistency tests.
        #[cfg(test)]
        static CONST_IDENTS: &[(&str, i32)] = &[ $( (stringify!($konst), $num) ),* ];
    };
}

error_codes! {
    // ---- librdkafka local (client-side) errors: -200 < code < -100 ----
    (BAD_MSG, -199, "_BAD_MSG", "Local: Bad message format"),
    (BAD_COMPRESSION, -198, "_BAD_COMPRESSION", "Local: Invalid compressed data"),
    (DESTROY, -197, "_DESTROY", "Local: Broker handle destroyed for termination"),
    (FAIL, -196, "_FAIL", "Local: Communication failure with broker"),
    (TRANSPORT, -195, "_TRANSPORT", "Local: Broker transport failure"),
    (CRIT_SYS_RESOURCE, -194, "_CRIT_SYS_RESOURCE", "Local: Critical system resource failure"),
    (RESOLVE, -193, "_RESOLVE", "Local: Host resolution failure"),
    (MSG_TIMED_OUT, -192, "_MSG_TIMED_OUT", "Local: Message timed out"),
    (PARTITION_EOF, -191, "_PARTITION_EOF", "Broker: No more messages"),
    (UNKNOWN_PARTITION, -190, "_UNKNOWN_PARTITION", "Local: Unknown partition"),
    (FS, -189, "_FS", "Local: File or filesystem error"),
    (UNKNOWN_TOPIC, -188, "_UNKNOWN_TOPIC", "Local: Unknown topic"),
    (ALL_BROKERS_DOWN, -187, "_ALL_BROKERS_DOWN", "Local: All broker connections are down"),
    (INVALID_ARG, -186, "_INVALID_ARG", "Local: Invalid argument or configuration"),
    (TIMED_OUT, -185, "_TIMED_OUT", "Local: Timed out"),
    (QUEUE_FULL, -184, "_QUEUE_FULL", "Local: Queue full"),
    (ISR_INSUFF, -183, "_ISR_INSUFF", "Local: ISR count insufficient"),
    (NODE_UPDATE, -182, "_NODE_UPDATE", "Local: Broker node update"),
    (SSL, -181, "_SSL", "Local: SSL error"),
    (WAIT_COORD, -180, "_WAIT_COORD", "Local: Waiting for coordinator"),
    (UNKNOWN_GROUP, -179, "_UNKNOWN_GROUP", "Local: Unknown group"),
    (IN_PROGRESS, -178, "_IN_PROGRESS", "Local: Operation in progress"),
    (PREV_IN_PROGRESS, -177, "_PREV_IN_PROGRESS", "Local: Previous operation in progress"),
    (EXISTING_SUBSCRIPTION, -176, "_EXISTING_SUBSCRIPTION", "Local: Existing subscription"),
    (ASSIGN_PARTITIONS, -175, "_ASSIGN_PARTITIONS", "Local: Assign partitions"),
    (REVOKE_PARTITIONS, -174, "_REVOKE_PARTITIONS", "Local: Revoke partitions"),
    (CONFLICT, -173, "_CONFLICT", "Local: Conflicting use"),
    (STATE, -172, "_STATE", "Local: Erroneous state"),
    (UNKNOWN_PROTOCOL, -171, "_UNKNOWN_PROTOCOL", "Local: Unknown protocol"),
    (NOT_IMPLEMENTED, -170, "_NOT_IMPLEMENTED", "Local: Not implemented"),
    (AUTHENTICATION, -169, "_AUTHENTICATION", "Local: Authentication failure"),
    (NO_OFFSET, -168, "_NO_OFFSET", "Local: No offset stored"),
    (OUTDATED, -167, "_OUTDATED", "Local: Outdated"),
    (TIMED_OUT_QUEUE, -166, "_TIMED_OUT_QUEUE", "Local: Timed out in queue"),
    (UNSUPPORTED_FEATURE, -165, "_UNSUPPORTED_FEATURE",
        "Local: Required feature not supported by broker"),
    (WAIT_CACHE, -164, "_WAIT_CACHE", "Local: Awaiting cache update"),
    (INTR, -163, "_INTR", "Local: Operation interrupted"),
    (KEY_SERIALIZATION, -162, "_KEY_SERIALIZATION", "Local: Key serialization error"),
    (VALUE_SERIALIZATION, -161, "_VALUE_SERIALIZATION", "Local: Value serialization error"),
    (KEY_DESERIALIZATION, -160, "_KEY_DESERIALIZATION", "Local: Key deserialization error"),
    (VALUE_DESERIALIZATION, -159, "_VALUE_DESERIALIZATION", "Local: Value deserialization error"),
    (PARTIAL, -158, "_PARTIAL", "Local: Partial response"),
    (READ_ONLY, -157, "_READ_ONLY", "Local: Read-only object"),
    (NOENT, -156, "_NOENT", "Local: No such entry"),
    (UNDERFLOW, -155, "_UNDERFLOW", "Local: Read underflow"),
    (INVALID_TYPE, -154, "_INVALID_TYPE", "Local: Invalid type"),
    (RETRY, -153, "_RETRY", "Local: Retry operation"),
    (PURGE_QUEUE, -152, "_PURGE_QUEUE", "Local: Purged in queue"),
    (PURGE_INFLIGHT, -151, "_PURGE_INFLIGHT", "Local: Purged in flight"),
    (FATAL, -150, "_FATAL", "Local: Fatal error"),
    (INCONSISTENT, -149, "_INCONSISTENT", "Local: Inconsistent state"),
    (GAPLESS_GUARANTEE, -148, "_GAPLESS_GUARANTEE",
        "Local: Gap-less ordering would not be guaranteed if proceeding"),
    (MAX_POLL_EXCEEDED, -147, "_MAX_POLL_EXCEEDED",
        "Local: Maximum application poll interval (max.poll.interval.ms) exceeded"),
    (UNKNOWN_BROKER, -146, "_UNKNOWN_BROKER", "Local: Unknown broker"),
    (NOT_CONFIGURED, -145, "_NOT_CONFIGURED", "Local: Functionality not configured"),
    (FENCED, -144, "_FENCED", "Local: This instance has been fenced by a newer instance"),
    (APPLICATION, -143, "_APPLICATION", "Local: Application generated error"),
    (ASSIGNMENT_LOST, -142, "_ASSIGNMENT_LOST", "Local: Group partition assignment lost"),
    (NOOP, -141, "_NOOP", "Local: No operation performed"),
    (AUTO_OFFSET_RESET, -140, "_AUTO_OFFSET_RESET", "Local: No offset to automatically reset to"),
    (LOG_TRUNCATION, -139, "_LOG_TRUNCATION", "Local: Partition log truncation detected"),
    (INVALID_DIFFERENT_RECORD, -138, "_INVALID_DIFFERENT_RECORD",
        "Local: an invalid record in the same batch caused the failure of this message too"),
    (DESTROY_BROKER, -137, "_DESTROY_BROKER", "Local: Broker handle destroyed without termination"),
    // ---- Generic / success ----
    (UNKNOWN, -1, "UNKNOWN", "Unknown broker error"),
    (NO_ERROR, 0, "NO_ERROR", "Success"),
    // ---- Kafka protocol (broker) error codes ----
    (OFFSET_OUT_OF_RANGE, 1, "OFFSET_OUT_OF_RANGE", "Broker: Offset out of range"),
    (INVALID_MSG, 2, "INVALID_MSG", "Broker: Invalid message"),
    (UNKNOWN_TOPIC_OR_PART, 3, "UNKNOWN_TOPIC_OR_PART", "Broker: Unknown topic or partition"),
    (INVALID_MSG_SIZE, 4, "INVALID_MSG_SIZE", "Broker: Invalid message size"),
    (LEADER_NOT_AVAILABLE, 5, "LEADER_NOT_AVAILABLE", "Broker: Leader not available"),
    (NOT_LEADER_FOR_PARTITION, 6, "NOT_LEADER_FOR_PARTITION", "Broker: Not leader for partition"),
    (REQUEST_TIMED_OUT, 7, "REQUEST_TIMED_OUT", "Broker: Request timed out"),
    (BROKER_NOT_AVAILABLE, 8, "BROKER_NOT_AVAILABLE", "Broker: Broker not available"),
    (REPLICA_NOT_AVAILABLE, 9, "REPLICA_NOT_AVAILABLE", "Broker: Replica not available"),
    (MSG_SIZE_TOO_LARGE, 10, "MSG_SIZE_TOO_LARGE", "Broker: Message size too large"),
    (STALE_CTRL_EPOCH, 11, "STALE_CTRL_EPOCH", "Broker: StaleControllerEpochCode"),
    (OFFSET_METADATA_TOO_LARGE, 12, "OFFSET_METADATA_TOO_LARGE",
        "Broker: Offset metadata string too large"),
    (NETWORK_EXCEPTION, 13, "NETWORK_EXCEPTION",
        "Broker: Broker disconnected before response received"),
    (COORDINATOR_LOAD_IN_PROGRESS, 14, "COORDINATOR_LOAD_IN_PROGRESS",
        "Broker: Coordinator load in progress"),
    (COORDINATOR_NOT_AVAILABLE, 15, "COORDINATOR_NOT_AVAILABLE",
        "Broker: Coordinator not available"),
    (NOT_COORDINATOR, 16, "NOT_COORDINATOR", "Broker: Not coordinator"),
    (TOPIC_EXCEPTION, 17, "TOPIC_EXCEPTION", "Broker: Invalid topic"),
    (RECORD_LIST_TOO_LARGE, 18, "RECORD_LIST_TOO_LARGE",
        "Broker: Message batch larger than configured server segment size"),
    (NOT_ENOUGH_REPLICAS, 19, "NOT_ENOUGH_REPLICAS", "Broker: Not enough in-sync replicas"),
    (NOT_ENOUGH_REPLICAS_AFTER_APPEND, 20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
        "Broker: Message(s) written to insufficient number of in-sync replicas"),
    (INVALID_REQUIRED_ACKS, 21, "INVALID_REQUIRED_ACKS", "Broker: Invalid required acks value"),
    (ILLEGAL_GENERATION, 22, "ILLEGAL_GENERATION",
        "Broker: Specified group generation id is not valid"),
    (INCONSISTENT_GROUP_PROTOCOL, 23, "INCONSISTENT_GROUP_PROTOCOL",
        "Broker: Inconsistent group protocol"),
    (INVALID_GROUP_ID, 24, "INVALID_GROUP_ID", "Broker: Invalid group.id"),
    (UNKNOWN_MEMBER_ID, 25, "UNKNOWN_MEMBER_ID", "Broker: Unknown member"),
    (INVALID_SESSION_TIMEOUT, 26, "INVALID_SESSION_TIMEOUT", "Broker: Invalid session timeout"),
    (REBALANCE_IN_PROGRESS, 27, "REBALANCE_IN_PROGRESS", "Broker: Group rebalance in progress"),
    (INVALID_COMMIT_OFFSET_SIZE, 28, "INVALID_COMMIT_OFFSET_SIZE",
        "Broker: Commit offset data size is not valid"),
    (TOPIC_AUTHORIZATION_FAILED, 29, "TOPIC_AUTHORIZATION_FAILED",
        "Broker: Topic authorization failed"),
    (GROUP_AUTHORIZATION_FAILED, 30, "GROUP_AUTHORIZATION_FAILED",
        "Broker: Group authorization failed"),
    (CLUSTER_AUTHORIZATION_FAILED, 31, "CLUSTER_AUTHORIZATION_FAILED",
        "Broker: Cluster authorization failed"),
    (INVALID_TIMESTAMP, 32, "INVALID_TIMESTAMP", "Broker: Invalid timestamp"),
    (UNSUPPORTED_SASL_MECHANISM, 33, "UNSUPPORTED_SASL_MECHANISM",
        "Broker: Unsupported SASL mechanism"),
    (ILLEGAL_SASL_STATE, 34, "ILLEGAL_SASL_STATE",
        "Broker: Request not valid in current SASL state"),
    (UNSUPPORTED_VERSION, 35, "UNSUPPORTED_VERSION", "Broker: API version not supported"),
    (TOPIC_ALREADY_EXISTS, 36, "TOPIC_ALREADY_EXISTS", "Broker: Topic already exists"),
    (INVALID_PARTITIONS, 37, "INVALID_PARTITIONS", "Broker: Invalid number of partitions"),
    (INVALID_REPLICATION_FACTOR, 38, "INVALID_REPLICATION_FACTOR",
        "Broker: Invalid replication factor"),
    (INVALID_REPLICA_ASSIGNMENT, 39, "INVALID_REPLICA_ASSIGNMENT",
        "Broker: Invalid replica assignment"),
    (INVALID_CONFIG, 40, "INVALID_CONFIG", "Broker: Configuration is invalid"),
    (NOT_CONTROLLER, 41, "NOT_CONTROLLER", "Broker: Not controller for cluster"),
    (INVALID_REQUEST, 42, "INVALID_REQUEST", "Broker: Invalid request"),
    (UNSUPPORTED_FOR_MESSAGE_FORMAT, 43, "UNSUPPORTED_FOR_MESSAGE_FORMAT",
        "Broker: Message format on broker does not support request"),
    (POLICY_VIOLATION, 44, "POLICY_VIOLATION", "Broker: Policy violation"),
    (OUT_OF_ORDER_SEQUENCE_NUMBER, 45, "OUT_OF_ORDER_SEQUENCE_NUMBER",
        "Broker: Broker received an out of order sequence number"),
    (DUPLICATE_SEQUENCE_NUMBER, 46, "DUPLICATE_SEQUENCE_NUMBER",
        "Broker: Broker received a duplicate sequence number"),
    (INVALID_PRODUCER_EPOCH, 47, "INVALID_PRODUCER_EPOCH",
        "Broker: Producer attempted an operation with an old epoch"),
    (INVALID_TXN_STATE, 48, "INVALID_TXN_STATE",
        "Broker: Producer attempted a transactional operation in an invalid state"),
    (INVALID_PRODUCER_ID_MAPPING, 49, "INVALID_PRODUCER_ID_MAPPING",
        "Broker: Producer attempted to use a producer id which is not currently assigned to its transactional id"),
    (INVALID_TRANSACTION_TIMEOUT, 50, "INVALID_TRANSACTION_TIMEOUT",
        "Broker: Transaction timeout is larger than the maximum value allowed by the broker's max.transaction.timeout.ms"),
    (CONCURRENT_TRANSACTIONS, 51, "CONCURRENT_TRANSACTIONS",
        "Broker: Producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing"),
    (TRANSACTION_COORDINATOR_FENCED, 52, "TRANSACTION_COORDINATOR_FENCED",
        "Broker: Indicates that the transaction coordinator sending a WriteTxnMarker is no longer the current coordinator for a given producer"),
    (TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
        "Broker: Transactional Id authorization failed"),
    (SECURITY_DISABLED, 54, "SECURITY_DISABLED", "Broker: Security features are disabled"),
    (OPERATION_NOT_ATTEMPTED, 55, "OPERATION_NOT_ATTEMPTED", "Broker: Operation not attempted"),
    (KAFKA_STORAGE_ERROR, 56, "KAFKA_STORAGE_ERROR",
        "Broker: Disk error when trying to access log file on disk"),
    (LOG_DIR_NOT_FOUND, 57, "LOG_DIR_NOT_FOUND",
        "Broker: The user-specified log directory is not found in the broker config"),
    (SASL_AUTHENTICATION_FAILED, 58, "SASL_AUTHENTICATION_FAILED",
        "Broker: SASL Authentication failed"),
    (UNKNOWN_PRODUCER_ID, 59, "UNKNOWN_PRODUCER_ID", "Broker: Unknown Producer Id"),
    (REASSIGNMENT_IN_PROGRESS, 60, "REASSIGNMENT_IN_PROGRESS",
        "Broker: Partition reassignment is in progress"),
    (DELEGATION_TOKEN_AUTH_DISABLED, 61, "DELEGATION_TOKEN_AUTH_DISABLED",
        "Broker: Delegation Token feature is not enabled"),
    (DELEGATION_TOKEN_NOT_FOUND, 62, "DELEGATION_TOKEN_NOT_FOUND",
        "Broker: Delegation Token is not found on server"),
    (DELEGATION_TOKEN_OWNER_MISMATCH, 63, "DELEGATION_TOKEN_OWNER_MISMATCH",
        "Broker: Specified Principal is not valid Owner/Renewer"),
    (DELEGATION_TOKEN_REQUEST_NOT_ALLOWED, 64, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED",
        "Broker: Delegation Token requests are not allowed on this connection"),
    (DELEGATION_TOKEN_AUTHORIZATION_FAILED, 65, "DELEGATION_TOKEN_AUTHORIZATION_FAILED",
        "Broker: Delegation Token authorization failed"),
    (DELEGATION_TOKEN_EXPIRED, 66, "DELEGATION_TOKEN_EXPIRED",
        "Broker: Delegation Token is expired"),
    (INVALID_PRINCIPAL_TYPE, 67, "INVALID_PRINCIPAL_TYPE",
        "Broker: Supplied principalType is not supported"),
    (NON_EMPTY_GROUP, 68, "NON_EMPTY_GROUP", "Broker: The group is not empty"),
    (GROUP_ID_NOT_FOUND, 69, "GROUP_ID_NOT_FOUND", "Broker: The group id does not exist"),
    (FETCH_SESSION_ID_NOT_FOUND, 70, "FETCH_SESSION_ID_NOT_FOUND",
        "Broker: The fetch session ID was not found"),
    (INVALID_FETCH_SESSION_EPOCH, 71, "INVALID_FETCH_SESSION_EPOCH",
        "Broker: The fetch session epoch is invalid"),
    (LISTENER_NOT_FOUND, 72, "LISTENER_NOT_FOUND", "Broker: No matching listener"),
    (TOPIC_DELETION_DISABLED, 73, "TOPIC_DELETION_DISABLED", "Broker: Topic deletion is disabled"),
    (FENCED_LEADER_EPOCH, 74, "FENCED_LEADER_EPOCH",
        "Broker: Leader epoch is older than broker epoch"),
    (UNKNOWN_LEADER_EPOCH, 75, "UNKNOWN_LEADER_EPOCH",
        "Broker: Leader epoch is newer than broker epoch"),
    (UNSUPPORTED_COMPRESSION_TYPE, 76, "UNSUPPORTED_COMPRESSION_TYPE",
        "Broker: Unsupported compression type"),
    (STALE_BROKER_EPOCH, 77, "STALE_BROKER_EPOCH", "Broker: Broker epoch has changed"),
    (OFFSET_NOT_AVAILABLE, 78, "OFFSET_NOT_AVAILABLE",
        "Broker: Leader high watermark is not caught up"),
    (MEMBER_ID_REQUIRED, 79, "MEMBER_ID_REQUIRED", "Broker: Group member needs a valid member ID"),
    (PREFERRED_LEADER_NOT_AVAILABLE, 80, "PREFERRED_LEADER_NOT_AVAILABLE",
        "Broker: Preferred leader was not available"),
    (GROUP_MAX_SIZE_REACHED, 81, "GROUP_MAX_SIZE_REACHED",
        "Broker: Consumer group has reached maximum size"),
    (FENCED_INSTANCE_ID, 82, "FENCED_INSTANCE_ID",
        "Broker: Static consumer fenced by other consumer with same group.instance.id"),
    (ELIGIBLE_LEADERS_NOT_AVAILABLE, 83, "ELIGIBLE_LEADERS_NOT_AVAILABLE",
        "Broker: Eligible partition leaders are not available"),
    (ELECTION_NOT_NEEDED, 84, "ELECTION_NOT_NEEDED",
        "Broker: Leader election not needed for topic partition"),
    (NO_REASSIGNMENT_IN_PROGRESS, 85, "NO_REASSIGNMENT_IN_PROGRESS",
        "Broker: No partition reassignment is in progress"),
    (GROUP_SUBSCRIBED_TO_TOPIC, 86, "GROUP_SUBSCRIBED_TO_TOPIC",
        "Broker: Deleting offsets of a topic while the consumer group is subscribed to it"),
    (INVALID_RECORD, 87, "INVALID_RECORD", "Broker: Broker failed to validate record"),
    (UNSTABLE_OFFSET_COMMIT, 88, "UNSTABLE_OFFSET_COMMIT",
        "Broker: There are unstable offsets that need to be cleared"),
    (THROTTLING_QUOTA_EXCEEDED, 89, "THROTTLING_QUOTA_EXCEEDED",
        "Broker: Throttling quota has been exceeded"),
    (PRODUCER_FENCED, 90, "PRODUCER_FENCED",
        "Broker: There is a newer producer with the same transactionalId which fences the current one"),
    (RESOURCE_NOT_FOUND, 91, "RESOURCE_NOT_FOUND",
        "Broker: Request illegally referred to resource that does not exist"),
    (DUPLICATE_RESOURCE, 92, "DUPLICATE_RESOURCE",
        "Broker: Request illegally referred to the same resource twice"),
    (UNACCEPTABLE_CREDENTIAL, 93, "UNACCEPTABLE_CREDENTIAL",
        "Broker: Requested credential would not meet criteria for acceptability"),
    (INCONSISTENT_VOTER_SET, 94, "INCONSISTENT_VOTER_SET",
        "Broker: Indicates that the either the sender or recipient of a voter-only request is not one of the expected voters"),
    (INVALID_UPDATE_VERSION, 95, "INVALID_UPDATE_VERSION", "Broker: Invalid update version"),
    (FEATURE_UPDATE_FAILED, 96, "FEATURE_UPDATE_FAILED",
        "Broker: Unable to update finalized features due to server error"),
    (PRINCIPAL_DESERIALIZATION_FAILURE, 97, "PRINCIPAL_DESERIALIZATION_FAILURE",
        "Broker: Request principal deserialization failed during forwarding"),
    (UNKNOWN_TOPIC_ID, 100, "UNKNOWN_TOPIC_ID", "Broker: Unknown topic id"),
    (INCONSISTENT_TOPIC_ID, 103, "INCONSISTENT_TOPIC_ID",
        "Broker: The log's topic ID did not match the topic ID in the request"),
    (FENCED_MEMBER_EPOCH, 110, "FENCED_MEMBER_EPOCH",
        "Broker: The member epoch is fenced by the group coordinator"),
    (UNRELEASED_INSTANCE_ID, 111, "UNRELEASED_INSTANCE_ID",
        "Broker: The instance ID is still used by another member in the consumer group"),
    (UNSUPPORTED_ASSIGNOR, 112, "UNSUPPORTED_ASSIGNOR",
        "Broker: The assignor or its version range is not supported by the consumer group"),
    (STALE_MEMBER_EPOCH, 113, "STALE_MEMBER_EPOCH", "Broker: The member epoch is stale"),
    (MISMATCHED_ENDPOINT_TYPE, 114, "MISMATCHED_ENDPOINT_TYPE",
        "Broker: The request was sent to an endpoint of the wrong type"),
    (UNSUPPORTED_ENDPOINT_TYPE, 115, "UNSUPPORTED_ENDPOINT_TYPE",
        "Broker: This endpoint type is not supported yet"),
    (UNKNOWN_CONTROLLER_ID, 116, "UNKNOWN_CONTROLLER_ID",
        "Broker: This controller ID is not known"),
    (UNKNOWN_SUBSCRIPTION_ID, 117, "UNKNOWN_SUBSCRIPTION_ID",
        "Broker: Client sent a push telemetry request with an invalid or outdated subscription ID"),
    (TELEMETRY_TOO_LARGE, 118, "TELEMETRY_TOO_LARGE",
        "Broker: Client sent a push telemetry request larger than the maximum size the broker will accept"),
    (INVALID_REGISTRATION, 119, "INVALID_REGISTRATION",
        "Broker: The controller has considered the broker registration to be invalid"),
    (TRANSACTION_ABORTABLE, 120, "TRANSACTION_ABORTABLE",
        "Broker: The server encountered an error with the transaction"),
    (INVALID_RECORD_STATE, 121, "INVALID_RECORD_STATE", "Broker: The record state is invalid"),
    (SHARE_SESSION_NOT_FOUND, 122, "SHARE_SESSION_NOT_FOUND",
        "Broker: The share session was not found"),
    (INVALID_SHARE_SESSION_EPOCH, 123, "INVALID_SHARE_SESSION_EPOCH",
        "Broker: The share session epoch is invalid"),
    (FENCED_STATE_EPOCH, 124, "FENCED_STATE_EPOCH",
        "Broker: The share-group state epoch did not match"),
    (INVALID_VOTER_KEY, 125, "INVALID_VOTER_KEY",
        "Broker: The voter key doesn't match the receiving replica's key"),
    (DUPLICATE_VOTER, 126, "DUPLICATE_VOTER",
        "Broker: The voter is already part of the set of voters"),
    (VOTER_NOT_FOUND, 127, "VOTER_NOT_FOUND", "Broker: The voter is not part of the set of voters"),
    (INVALID_REGULAR_EXPRESSION, 128, "INVALID_REGULAR_EXPRESSION",
        "Broker: The regular expression is not valid"),
    (REBOOTSTRAP_REQUIRED, 129, "REBOOTSTRAP_REQUIRED",
        "Broker: Client metadata is stale, client should rebootstrap to obtain new metadata"),
    (STREAMS_INVALID_TOPOLOGY, 130, "STREAMS_INVALID_TOPOLOGY",
        "Broker: The supplied topology is invalid"),
    (STREAMS_INVALID_TOPOLOGY_EPOCH, 131, "STREAMS_INVALID_TOPOLOGY_EPOCH",
        "Broker: The supplied topology epoch is invalid"),
    (STREAMS_TOPOLOGY_FENCED, 132, "STREAMS_TOPOLOGY_FENCED",
        "Broker: The supplied topology epoch is outdated"),
    (SHARE_SESSION_LIMIT_REACHED, 133, "SHARE_SESSION_LIMIT_REACHED",
        "Broker: The limit of share sessions has been reached"),
}

impl ErrorCode {
    /// Alias: Kafka renamed `NOT_LEADER_FOR_PARTITION` (6) to `NOT_LEADER_OR_FOLLOWER`.
    pub const NOT_LEADER_OR_FOLLOWER: ErrorCode = ErrorCode::NOT_LEADER_FOR_PARTITION;
    /// Alias of `COORDINATOR_LOAD_IN_PROGRESS` (14), as in librdkafka's header.
    pub const GROUP_LOAD_IN_PROGRESS: ErrorCode = ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
    /// Alias of `COORDINATOR_NOT_AVAILABLE` (15), as in librdkafka's header.
    pub const GROUP_COORDINATOR_NOT_AVAILABLE: ErrorCode = ErrorCode::COORDINATOR_NOT_AVAILABLE;
    /// Alias of `NOT_COORDINATOR` (16), as in librdkafka's header.
    pub const NOT_COORDINATOR_FOR_GROUP: ErrorCode = ErrorCode::NOT_COORDINATOR;

    /// Kafka wire error codes arrive as i16; any value maps to some code.
    ///
    /// Non-negative values and `-1` keep their number (so broker codes newer
    /// than this table stay visible as unknown codes with their number).
    /// Other negative values are not valid Kafka error codes and would collide
    /// with librdkafka's local error range, so they map to [`ErrorCode::UNKNOWN`]
    /// ("Unknown broker error"), like Java's handling of unknown codes.
    pub fn from_kafka(code: i16) -> ErrorCode {
        if code < -1 {
            ErrorCode::UNKNOWN
        } else {
            ErrorCode(i32::from(code))
        }
    }

    /// The raw `rd_kafka_resp_err_t` number.
    pub fn code(self) -> i32 {
        self.0
    }

    /// `true` for [`ErrorCode::NO_ERROR`].
    pub fn is_ok(self) -> bool {
        self.0 == 0
    }

    /// `true` when the code is in the table (librdkafka knows it).
    pub fn is_known(self) -> bool {
        self.entry().is_some()
    }

    /// `true` for numbers in librdkafka's local error range (-200 < n < -100).
    pub fn is_local(self) -> bool {
        self.0 > -200 && self.0 < -100
    }

    /// `true` for Kafka protocol (broker) error codes (n > 0).
    pub fn is_broker(self) -> bool {
        self.0 > 0
    }

    fn entry(self) -> Option<&'static (i32, &'static str, &'static str)> {
        TABLE.binary_search_by_key(&self.0, |e| e.0).ok().map(|i| &TABLE[i])
    }

    /// librdkafka's `rd_kafka_err2name` text, e.g. `"_MSG_TIMED_OUT"`,
    /// `"MSG_SIZE_TOO_LARGE"`. Unknown codes: [`UNKNOWN_CODE_NAME`]
    /// (`"ERR_UNKNOWN_CODE"`).
    pub fn name(self) -> &'static str {
        self.entry().map_or(UNKNOWN_CODE_NAME, |e| e.1)
    }

    /// librdkafka's `rd_kafka_err2str` text, e.g. `"Local: Message timed out"`.
    /// Unknown codes: [`UNKNOWN_CODE_MESSAGE`] (`"Unknown error code"`).
    pub fn message(self) -> &'static str {
        self.entry().map_or(UNKNOWN_CODE_MESSAGE, |e| e.2)
    }

    /// Every known code, in ascending order (used by the C layer to build C
    /// strings once).
    pub fn all() -> &'static [ErrorCode] {
        ALL
    }

    /// Whether a Produce failure with this code may be retried.
    ///
    /// Broker codes: those whose Java exception is a `RetriableException`
    /// (directly or via `InvalidMetadataException`) in Apache Kafka's
    /// `Errors`, restricted to codes librdkafka knows: 3, 5, 6, 7, 9, 13, 14,
    /// 15, 16, 19, 20, 41, 51, 56, 70, 71, 72, 74, 75, 78, 80, 83, 84, 88, 89,
    /// 100, 103, 122, 123, 133. Not 2 `INVALID_MSG` (a corrupt message): Java
    /// retries it, but librdkafka's producer fails it at once, and so do we.
    /// Local codes: `_TRANSPORT` (-195) and `_TIMED_OUT` (-185, request timeout).
    /// Everything else (including `_MSG_TIMED_OUT`, `_QUEUE_FULL`,
    /// `MSG_SIZE_TOO_LARGE`, `BROKER_NOT_AVAILABLE` and the idempotence errors)
    /// is not retriable. Note: librdkafka's producer additionally retries
    /// `_TIMED_OUT_QUEUE` (-166) and `_RETRY` (-153) internally; they are not
    /// classified as retriable here.
    pub fn is_retriable(self) -> bool {
        const RETRIABLE: &[i32] = &[
            -195, -185, 3, 5, 6, 7, 9, 13, 14, 15, 16, 19, 20, 41, 51, 56, 70, 71, 72, 74, 75, 78, 80, 83, 84, 88, 89, 100, 103, 122, 123,
            133,
        ];
        RETRIABLE.contains(&self.0)
    }

    /// Whether the error means the client's view of partition leadership is
    /// stale and metadata must be refreshed.
    ///
    /// `_TRANSPORT` (-195), `_DESTROY_BROKER` (-137, librdkafka refreshes),
    /// `UNKNOWN_TOPIC_OR_PART` (3), `LEADER_NOT_AVAILABLE` (5),
    /// `NOT_LEADER_FOR_PARTITION` (6), `BROKER_NOT_AVAILABLE` (8, librdkafka
    /// refreshes), `REPLICA_NOT_AVAILABLE` (9), `NETWORK_EXCEPTION` (13),
    /// `KAFKA_STORAGE_ERROR` (56), `LISTENER_NOT_FOUND` (72),
    /// `FENCED_LEADER_EPOCH` (74), `UNKNOWN_LEADER_EPOCH` (75),
    /// `UNKNOWN_TOPIC_ID` (100), `INCONSISTENT_TOPIC_ID` (103).
    /// (Broker codes here are Java's `InvalidMetadataException`s relevant to
    /// producing, plus 8 and 75.)
    pub fn needs_metadata_refresh(self) -> bool {
        matches!(self.0, -195 | -137 | 3 | 5 | 6 | 8 | 9 | 13 | 56 | 72 | 74 | 75 | 100 | 103)
    }
}

impl fmt::Display for ErrorCode {
    /// `"<message> (<name>, <number>)"`, e.g.
    /// `"Local: Message timed out (_MSG_TIMED_OUT, -192)"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, {})", self.message(), self.name(), self.0)
    }
}

impl std::error::Error for ErrorCode {}

impl From<ErrorCode> for i32 {
    fn from(e: ErrorCode) -> i32 {
        e.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(code: i32, name: &str, message: &str) {
        let e = ErrorCode(code);
        assert!(e.is_known(), "{code} should be known");
        assert_eq!(e.name(), name, "name of {code}");
        assert_eq!(e.message(), message, "message of {code}");
    }

    #[test]
    fn librdkafka_texts() {
        check(-192, "_MSG_TIMED_OUT", "Local: Message timed out");
        check(-184, "_QUEUE_FULL", "Local: Queue full");
        check(-186, "_INVALID_ARG", "Local: Invalid argument or configuration");
        check(-185, "_TIMED_OUT", "Local: Timed out");
        check(-197, "_DESTROY", "Local: Broker handle destroyed for termination");
        check(-195, "_TRANSPORT", "Local: Broker transport failure");
        check(-199, "_BAD_MSG", "Local: Bad message format");
        check(-191, "_PARTITION_EOF", "Broker: No more messages");
        check(-150, "_FATAL", "Local: Fatal error");
        check(-137, "_DESTROY_BROKER", "Local: Broker handle destroyed without termination");
        check(-1, "UNKNOWN", "Unknown broker error");
        check(0, "NO_ERROR", "Success");
        check(1, "OFFSET_OUT_OF_RANGE", "Broker: Offset out of range");
        check(3, "UNKNOWN_TOPIC_OR_PART", "Broker: Unknown topic or partition");
        check(10, "MSG_SIZE_TOO_LARGE", "Broker: Message size too large");
        check(13, "NETWORK_EXCEPTION", "Broker: Broker disconnected before response received");
        check(46, "DUPLICATE_SEQUENCE_NUMBER", "Broker: Broker received a duplicate sequence number");
        check(76, "UNSUPPORTED_COMPRESSION_TYPE", "Broker: Unsupported compression type");
        check(133, "SHARE_SESSION_LIMIT_REACHED", "Broker: The limit of share sessions has been reached");
    }

    #[test]
    fn constants() {
        assert_eq!(ErrorCode::NO_ERROR, ErrorCode(0));
        assert_eq!(ErrorCode::MSG_TIMED_OUT, ErrorCode(-192));
        assert_eq!(ErrorCode::QUEUE_FULL, ErrorCode(-184));
        assert_eq!(ErrorCode::INVALID_ARG, ErrorCode(-186));
        assert_eq!(ErrorCode::TIMED_OUT, ErrorCode(-185));
        assert_eq!(ErrorCode::DESTROY, ErrorCode(-197));
        assert_eq!(ErrorCode::TRANSPORT, ErrorCode(-195));
        assert_eq!(ErrorCode::UNKNOWN_TOPIC, ErrorCode(-188));
        assert_eq!(ErrorCode::UNKNOWN_PARTITION, ErrorCode(-190));
        assert_eq!(ErrorCode::FATAL, ErrorCode(-150));
        assert_eq!(ErrorCode::STATE, ErrorCode(-172));
        assert_eq!(ErrorCode::NOT_IMPLEMENTED, ErrorCode(-170));
        assert_eq!(ErrorCode::UNSUPPORTED_FEATURE, ErrorCode(-165));
        assert_eq!(ErrorCode::INVALID_TYPE, ErrorCode(-154));
        assert_eq!(ErrorCode::PURGE_QUEUE, ErrorCode(-152));
        assert_eq!(ErrorCode::PURGE_INFLIGHT, ErrorCode(-151));
        assert_eq!(ErrorCode::UNKNOWN, ErrorCode(-1));
        assert_eq!(ErrorCode::MSG_SIZE_TOO_LARGE, ErrorCode(10));
        assert_eq!(ErrorCode::UNKNOWN_TOPIC_OR_PART, ErrorCode(3));
        assert_eq!(ErrorCode::NOT_LEADER_FOR_PARTITION, ErrorCode(6));
        assert_eq!(ErrorCode::NOT_LEADER_OR_FOLLOWER, ErrorCode(6));
        assert_eq!(ErrorCode::REQUEST_TIMED_OUT, ErrorCode(7));
        assert_eq!(ErrorCode::FENCED_LEADER_EPOCH, ErrorCode(74));
        assert_eq!(ErrorCode::UNKNOWN_LEADER_EPOCH, ErrorCode(75));
    }

    #[test]
    fn table_shape() {
        assert_eq!(TABLE.len(), 188);
        assert_eq!(TABLE.first().unwrap().0, -199);
        assert_eq!(TABLE.last().unwrap().0, 133);
        for w in TABLE.windows(2) {
            assert!(w[0].0 < w[1].0, "not strictly ascending at {} / {}", w[0].0, w[1].0);
        }
        // all() mirrors the table, in the same order.
        assert_eq!(ErrorCode::all().len(), TABLE.len());
        for (c, e) in ErrorCode::all().iter().zip(TABLE) {
            assert_eq!(c.0, e.0);
        }
        // Names are unique.
        let mut names: Vec<&str> = TABLE.iter().map(|e| e.1).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TABLE.len());
        // Every local code -199..=-137 is present; no gaps in that range.
        let locals: Vec<i32> = TABLE.iter().map(|e| e.0).filter(|&n| n < -1).collect();
        assert_eq!(locals, (-199..=-137).collect::<Vec<i32>>());
        // Broker codes 1..=97 are all present.
        for n in 1..=97 {
            assert!(ErrorCode(n).is_known(), "broker code {n} missing");
        }
    }

    #[test]
    fn const_identifiers_match_names() {
        assert_eq!(CONST_IDENTS.len(), TABLE.len());
        for (&(ident, num), e) in CONST_IDENTS.iter().zip(TABLE) {
            assert_eq!(num, e.0);
            let expected = e.1.strip_prefix('_').unwrap_or(e.1);
            assert!(ident == expected || ident.strip_prefix("LOCAL_") == Some(expected), "const {ident} does not match name {}", e.1);
        }
    }

    #[test]
    fn name_and_message_prefixes() {
        for &(n, name, msg) in TABLE {
            let e = ErrorCode(n);
            if n < -1 {
                assert!(e.is_local());
                assert!(name.starts_with('_'), "local name {name}");
                if n == -191 {
                    // librdkafka quirk: _PARTITION_EOF is reported as a broker message.
                    assert_eq!(msg, "Broker: No more messages");
                } else {
                    assert!(msg.starts_with("Local: "), "local message of {n}: {msg}");
                }
            } else if n > 0 {
                assert!(e.is_broker());
                assert!(!name.starts_with('_'), "broker name {name}");
                assert!(msg.starts_with("Broker: "), "broker message of {n}: {msg}");
            } else {
                // -1 and 0 have no prefix.
                assert!(n == -1 || n == 0);
                assert!(!e.is_local() && !e.is_broker());
                assert!(!msg.starts_with("Local: ") && !msg.starts_with("Broker: "));
            }
        }
    }

    #[test]
    fn from_kafka_mapping() {
        assert_eq!(ErrorCode::from_kafka(-1), ErrorCode::UNKNOWN);
        assert_eq!(ErrorCode::from_kafka(0), ErrorCode::NO_ERROR);
        assert!(ErrorCode::from_kafka(0).is_ok());
        assert_eq!(ErrorCode::from_kafka(10), ErrorCode::MSG_SIZE_TOO_LARGE);
        assert_eq!(ErrorCode::from_kafka(i16::MAX), ErrorCode(32767));
        // Negative wire codes other than -1 must not alias local errors.
        assert_eq!(ErrorCode::from_kafka(-192), ErrorCode::UNKNOWN);
        assert_eq!(ErrorCode::from_kafka(i16::MIN), ErrorCode::UNKNOWN);
        assert!(!ErrorCode::from_kafka(3).is_ok());
    }

    #[test]
    fn unknown_codes() {
        for n in [-200, -100, -2, 98, 99, 101, 106, 134, 9999, i32::MIN, i32::MAX] {
            let e = ErrorCode(n);
            assert!(!e.is_known(), "{n} should be unknown");
            assert_eq!(e.name(), "ERR_UNKNOWN_CODE");
            assert_eq!(e.message(), "Unknown error code");
            assert!(!e.is_retriable());
            assert!(!e.needs_metadata_refresh());
        }
        assert_eq!(ErrorCode(9999).to_string(), "Unknown error code (ERR_UNKNOWN_CODE, 9999)");
    }

    #[test]
    fn display() {
        assert_eq!(ErrorCode::MSG_TIMED_OUT.to_string(), "Local: Message timed out (_MSG_TIMED_OUT, -192)");
        assert_eq!(ErrorCode::MSG_SIZE_TOO_LARGE.to_string(), "Broker: Message size too large (MSG_SIZE_TOO_LARGE, 10)");
        assert_eq!(ErrorCode::NO_ERROR.to_string(), "Success (NO_ERROR, 0)");
    }

    #[test]
    fn retriable_classification() {
        for c in [
            ErrorCode::TRANSPORT,
            ErrorCode::TIMED_OUT,
            ErrorCode::REQUEST_TIMED_OUT,
            ErrorCode::NOT_LEADER_FOR_PARTITION,
            ErrorCode::LEADER_NOT_AVAILABLE,
            ErrorCode::UNKNOWN_TOPIC_OR_PART,
            ErrorCode::NOT_ENOUGH_REPLICAS,
            ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND,
            ErrorCode::NETWORK_EXCEPTION,
            ErrorCode::KAFKA_STORAGE_ERROR,
            ErrorCode::NOT_COORDINATOR,
            ErrorCode::FENCED_LEADER_EPOCH,
            ErrorCode::UNKNOWN_LEADER_EPOCH,
        ] {
            assert!(c.is_retriable(), "{c} should be retriable");
        }
        for c in [
            ErrorCode::NO_ERROR,
            ErrorCode::UNKNOWN,
            ErrorCode::MSG_TIMED_OUT,
            ErrorCode::QUEUE_FULL,
            ErrorCode::INVALID_ARG,
            ErrorCode::DESTROY,
            ErrorCode::FATAL,
            ErrorCode::PURGE_QUEUE,
            ErrorCode::PURGE_INFLIGHT,
            ErrorCode::MSG_SIZE_TOO_LARGE,
            ErrorCode::BROKER_NOT_AVAILABLE,
            ErrorCode::TOPIC_AUTHORIZATION_FAILED,
            ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER,
            ErrorCode::DUPLICATE_SEQUENCE_NUMBER,
            ErrorCode::INVALID_PRODUCER_EPOCH,
            ErrorCode::UNKNOWN_PRODUCER_ID,
            ErrorCode::RECORD_LIST_TOO_LARGE,
            ErrorCode::PRODUCER_FENCED,
            ErrorCode::UNSUPPORTED_COMPRESSION_TYPE,
            ErrorCode::INVALID_MSG,
            ErrorCode::INVALID_REQUIRED_ACKS,
        ] {
            assert!(!c.is_retriable(), "{c} should not be retriable");
        }
        // Every retriable code is a known code.
        let retriable: Vec<i32> = (-300..300).filter(|&n| ErrorCode(n).is_retriable()).collect();
        assert_eq!(retriable.len(), 32);
        assert!(retriable.iter().all(|&n| ErrorCode(n).is_known()));
    }

    #[test]
    fn metadata_refresh_classification() {
        for n in [3, 5, 6, 74, 75, 13, -195] {
            assert!(ErrorCode(n).needs_metadata_refresh(), "{n}");
        }
        for n in [0, -1, 7, 10, 19, 20, -185, -192, -184] {
            assert!(!ErrorCode(n).needs_metadata_refresh(), "{n}");
        }
        // Every code that needs a refresh is known, and all broker ones are retriable.
        for n in -300..300 {
            let e = ErrorCode(n);
            if e.needs_metadata_refresh() {
                assert!(e.is_known());
                if e.is_broker() && n != 8 {
                    assert!(e.is_retriable(), "{n}");
                }
            }
        }
    }
}
