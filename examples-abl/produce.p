/* produce.p -- send messages with libablkafka from OpenEdge ABL, then poll the receipts.

   Not executed in this repository (there is no OpenEdge runtime here): its executable
   stand-in is c-tests/abl_ctypes.py, which makes the same calls with the same types
   (dlopen, handles as INT64, only LONG / INT64 / CHARACTER / MEMPTR, no callbacks,
   polling response_completed) and runs in `make test`.

   Run:  mpro -b -p produce.p -param "127.0.0.1:9092,my-topic"
   or, on a cluster that wants SASL over TLS (SASL_SSL with SCRAM, as managed clouds do):
         mpro -b -p produce.p -param "broker:9093,my-topic,alice,/etc/kafka/ca.pem"
   with the password in the environment variable KAFKA_PASSWORD.
   with libablkafka.so on LD_LIBRARY_PATH (or give its full path in the EXTERNAL option).

   Every handle (builder, producer, Response) is an INT64. Strings the library returns
   are addresses (INT64): read them with SET-POINTER-VALUE on a MEMPTR and GET-STRING,
   and never SET-SIZE that MEMPTR to 0 (the memory is the library's). Every procedure is
   declared PERSISTENT so the library stays loaded while a producer's thread runs; release
   it (RELEASE EXTERNAL) only after every producer is closed and freed. */

USING Progress.Json.ObjectModel.*.

BLOCK-LEVEL ON ERROR UNDO, THROW.

&SCOPED-DEFINE LIB "libablkafka.so"
&SCOPED-DEFINE COUNT 100

DEFINE VARIABLE cBrokers  AS CHARACTER NO-UNDO.
DEFINE VARIABLE cTopic    AS CHARACTER NO-UNDO.
DEFINE VARIABLE hBuilder  AS INT64     NO-UNDO.
DEFINE VARIABLE hProducer AS INT64     NO-UNDO.
DEFINE VARIABLE hResponse AS INT64     NO-UNDO EXTENT {&COUNT}.
DEFINE VARIABLE iRc       AS INTEGER   NO-UNDO.
DEFINE VARIABLE iAddr     AS INT64     NO-UNDO.
DEFINE VARIABLE iDone     AS INTEGER   NO-UNDO.
DEFINE VARIABLE iFlag     AS INTEGER   NO-UNDO.
DEFINE VARIABLE iPart     AS INTEGER   NO-UNDO.
DEFINE VARIABLE iOffset   AS INT64     NO-UNDO.
DEFINE VARIABLE iCode     AS INTEGER   NO-UNDO.
DEFINE VARIABLE i         AS INTEGER   NO-UNDO.
DEFINE VARIABLE cKey      AS CHARACTER NO-UNDO.
DEFINE VARIABLE cValue    AS CHARACTER NO-UNDO.
DEFINE VARIABLE mKey      AS MEMPTR    NO-UNDO.
DEFINE VARIABLE mValue    AS MEMPTR    NO-UNDO.
DEFINE VARIABLE dDeadline AS DATETIME  NO-UNDO.
DEFINE VARIABLE cUser     AS CHARACTER NO-UNDO.
DEFINE VARIABLE cCaFile   AS CHARACTER NO-UNDO.
DEFINE VARIABLE mOption   AS MEMPTR    NO-UNDO.
DEFINE VARIABLE hRecord   AS INT64     NO-UNDO.
DEFINE VARIABLE iFailed   AS INT64     NO-UNDO.
DEFINE VARIABLE hWithHeaders AS INT64  NO-UNDO.
DEFINE VARIABLE iLength   AS INT64     NO-UNDO.
DEFINE VARIABLE iLevel    AS INTEGER   NO-UNDO.
DEFINE VARIABLE mStats    AS MEMPTR    NO-UNDO.
DEFINE VARIABLE oStats    AS JsonObject NO-UNDO.

FUNCTION LibraryString RETURNS CHARACTER (INPUT iAddress AS INT64) FORWARD.

ASSIGN cBrokers = ENTRY(1, SESSION:PARAMETER)
       cTopic   = ENTRY(2, SESSION:PARAMETER).
IF NUM-ENTRIES(SESSION:PARAMETER) >= 4 THEN
    ASSIGN cUser   = ENTRY(3, SESSION:PARAMETER)
           cCaFile = ENTRY(4, SESSION:PARAMETER).

/* ------------------------------------------------------------ options, build */
RUN producer_builder_new (OUTPUT hBuilder).
RUN producer_builder_set_option (hBuilder, "bootstrap.servers", cBrokers, OUTPUT iRc).
/* Values as OpenEdge programs write them: librdkafka reads enum values and booleans in
   any case ("LZ4", "TRUE"), and keeps them in its own spelling. */
IF iRc = 0 THEN RUN producer_builder_set_option (hBuilder, "compression.codec", "LZ4", OUTPUT iRc).
IF iRc = 0 THEN RUN producer_builder_set_option (hBuilder, "linger.ms", "10", OUTPUT iRc).
IF iRc = 0 THEN RUN producer_builder_set_option (hBuilder, "acks", "ALL", OUTPUT iRc).
/* The library's log lines come to this program, polled (it cannot be called back),
   instead of going to stderr: broker failures, configuration warnings. */
IF iRc = 0 THEN RUN producer_builder_set_option (hBuilder, "log.queue", "TRUE", OUTPUT iRc).
/* librdkafka's statistics JSON, every second, read by polling (no stats callback). */
IF iRc = 0 THEN RUN producer_builder_set_option (hBuilder, "statistics.interval.ms", "1000", OUTPUT iRc).
/* A topic configuration (OpenEdge's AddTopicConfiguration + SetTopicOption): this topic
   only; other topics keep the producer's options. */
IF iRc = 0 THEN RUN producer_builder_set_topic_option (hBuilder, cTopic, "compression.codec", "ZSTD", OUTPUT iRc).
IF iRc = 0 THEN RUN producer_builder_set_topic_option (hBuilder, cTopic, "request.required.acks", "1", OUTPUT iRc).
/* SASL over TLS: the names OpenEdge and librdkafka use (sasl.mechanisms is an alias of
   sasl.mechanism). The password never comes back: not in an error message, and it reads
   back as "[redacted]"; the library wipes it from memory when the producer is freed.
   A refused certificate or login shows as producer_error_code -181 or -169. */
IF iRc = 0 AND cUser <> "" THEN DO:
    RUN producer_builder_set_option (hBuilder, "security.protocol", "SASL_SSL", OUTPUT iRc).
    IF iRc = 0 THEN RUN producer_builder_set_option (hBuilder, "sasl.mechanisms", "SCRAM-SHA-512", OUTPUT iRc).
    IF iRc = 0 THEN RUN producer_builder_set_option (hBuilder, "sasl.username", cUser, OUTPUT iRc).
    IF iRc = 0 THEN RUN producer_builder_set_option (hBuilder, "sasl.password", OS-GETENV("KAFKA_PASSWORD"), OUTPUT iRc).
    IF iRc = 0 THEN RUN producer_builder_set_option (hBuilder, "ssl.ca.location", cCaFile, OUTPUT iRc).
END.
IF iRc <> 0 THEN DO:
    RUN producer_builder_last_error (hBuilder, OUTPUT iAddr).
    MESSAGE "option refused:" LibraryString(iAddr).
    RUN producer_builder_free (hBuilder).
    RETURN.
END.
RUN producer_builder_build (hBuilder, OUTPUT hProducer).
IF hProducer = 0 THEN DO:
    RUN producer_builder_last_error (hBuilder, OUTPUT iAddr).
    MESSAGE "build failed:" LibraryString(iAddr).
    RUN producer_builder_free (hBuilder).
    RETURN.
END.
RUN producer_builder_free (hBuilder).

/* Options read back into a MEMPTR of ours: canonical spelling ("SASL_SSL" reads
   "sasl_ssl"), librdkafka's defaults for what was not set, secrets as "[redacted]". */
SET-SIZE(mOption) = 256.
RUN producer_get_option (hProducer, "security.protocol", GET-POINTER-VALUE(mOption), 256, OUTPUT iLength).
IF iLength >= 0 THEN MESSAGE "security.protocol =" GET-STRING(mOption, 1).
RUN producer_get_option (hProducer, "sasl.password", GET-POINTER-VALUE(mOption), 256, OUTPUT iLength).
IF iLength > 0 THEN MESSAGE "sasl.password =" GET-STRING(mOption, 1).   /* [redacted] */
/* OpenEdge's GetTopicOption: the value this topic's records use. */
RUN producer_get_topic_option (hProducer, cTopic, "compression.codec", GET-POINTER-VALUE(mOption), 256, OUTPUT iLength).
IF iLength >= 0 THEN MESSAGE cTopic "compression.codec =" GET-STRING(mOption, 1).   /* zstd */
SET-SIZE(mOption) = 0.

/* ------------------------------------------------------------ send loop */
/* Key as a MEMPTR (raw bytes with a length), value likewise; the library copies both
   before producer_send returns, so the MEMPTRs can be reused and freed at once. */
DO i = 1 TO {&COUNT}:
    ASSIGN cKey   = "key-" + STRING(i MODULO 7)
           cValue = "message " + STRING(i) + " from ABL".
    SET-SIZE(mKey)   = LENGTH(cKey, "RAW") + 1.
    SET-SIZE(mValue) = LENGTH(cValue, "RAW") + 1.
    PUT-STRING(mKey, 1)   = cKey.
    PUT-STRING(mValue, 1) = cValue.
    RUN producer_send (hProducer, cTopic,
                       mKey, LENGTH(cKey, "RAW"),      /* without the NUL PUT-STRING adds */
                       mValue, LENGTH(cValue, "RAW"),
                       OUTPUT hResponse[i]).
    SET-SIZE(mKey)   = 0.
    SET-SIZE(mValue) = 0.
END.

/* ------------------------------------------------------------ a record with headers */
/* OpenEdge's RecordBuilder: headers (AddHeader), a partition of its own (SetPartitionId:
   used instead of the key's), a timestamp (ms since the epoch; 0 = now). Everything is
   copied by producer_send_record, so the builder can be changed and sent again. */
RUN record_builder_new (OUTPUT hRecord).
RUN record_builder_set_topic (hRecord, cTopic, OUTPUT iRc).
RUN record_builder_set_partition (hRecord, 0, OUTPUT iRc).
SET-SIZE(mValue) = 16.
PUT-STRING(mValue, 1) = "order-service".
RUN record_builder_add_header (hRecord, "origin", mValue, LENGTH("order-service", "RAW"), OUTPUT iRc).
PUT-STRING(mValue, 1) = "with headers".
RUN record_builder_set_value (hRecord, mValue, LENGTH("with headers", "RAW"), OUTPUT iRc).
RUN producer_send_record (hProducer, hRecord, OUTPUT hWithHeaders).
SET-SIZE(mValue) = 0.
RUN record_builder_free (hRecord).

/* ------------------------------------------------------------ sends without a receipt */
/* For a loop that never looks at its responses: nothing to free. A refusal comes back
   at once as the return code; later failures are counted, and polled. */
DO i = 1 TO {&COUNT}:
    cValue = "fire and forget " + STRING(i).
    SET-SIZE(mValue) = LENGTH(cValue, "RAW") + 1.
    PUT-STRING(mValue, 1) = cValue.
    RUN producer_send_no_receipt (hProducer, cTopic, mKey, 0, mValue, LENGTH(cValue, "RAW"), OUTPUT iRc).
    IF iRc <> 0 THEN MESSAGE "refused:" iRc.
    SET-SIZE(mValue) = 0.
END.

/* ------------------------------------------------------------ polling the receipts */
/* No callbacks: ask each Response whether it completed, pause, ask again. */
dDeadline = ADD-INTERVAL(NOW, 60, "seconds").
DO WHILE iDone < {&COUNT} AND NOW < dDeadline:
    iDone = 0.
    DO i = 1 TO {&COUNT}:
        RUN response_completed (hResponse[i], OUTPUT iFlag).
        iDone = iDone + iFlag.
    END.
    IF iDone < {&COUNT} THEN PAUSE 0.05 NO-MESSAGE.
END.

DO i = 1 TO {&COUNT}:
    RUN response_success (hResponse[i], OUTPUT iFlag).
    IF iFlag = 1 THEN DO:
        RUN response_partition (hResponse[i], OUTPUT iPart).
        RUN response_offset (hResponse[i], OUTPUT iOffset).
        MESSAGE "message" i "delivered to partition" iPart "at offset" iOffset.
    END.
    ELSE DO:
        RUN response_error_code (hResponse[i], OUTPUT iCode).
        RUN response_error_message (hResponse[i], OUTPUT iAddr).
        MESSAGE "message" i "failed:" iCode LibraryString(iAddr).
    END.
    RUN response_free (hResponse[i]).
END.
RUN response_wait (hWithHeaders, 10000, OUTPUT iFlag).
RUN response_partition (hWithHeaders, OUTPUT iPart).
RUN response_topic (hWithHeaders, OUTPUT iAddr).             /* OpenEdge's TopicName */
MESSAGE "the record with headers went to" LibraryString(iAddr) "partition" iPart.   /* 0, as asked */
RUN response_free (hWithHeaders).
RUN producer_flush (hProducer, 10000, OUTPUT iRc).
RUN producer_no_receipt_failures (hProducer, OUTPUT iFailed).
IF iFailed > 0 THEN DO:
    RUN producer_no_receipt_last_error (hProducer, OUTPUT iCode).
    RUN ablkafka_err2str (iCode, OUTPUT iAddr).
    MESSAGE iFailed "records sent without a receipt failed; the latest:" LibraryString(iAddr).
END.

/* The log, as OpenEdge's MESSAGING log entry type shows librdkafka's: poll until empty. */
SET-SIZE(mOption) = 4096.
RUN producer_log_next (hProducer, GET-POINTER-VALUE(mOption), 4096, OUTPUT iLevel).
DO WHILE iLevel > 0:
    MESSAGE "kafka log, level" iLevel ":" GET-STRING(mOption, 1).
    RUN producer_log_next (hProducer, GET-POINTER-VALUE(mOption), 4096, OUTPUT iLevel).
END.
SET-SIZE(mOption) = 0.

/* The latest statistics snapshot, parsed with OpenEdge's JSON object model. */
PAUSE 1.1 NO-MESSAGE.   /* one statistics.interval.ms after the flush */
SET-SIZE(mStats) = 1048576.
RUN producer_statistics (hProducer, GET-POINTER-VALUE(mStats), 1048576, OUTPUT iLength).
IF iLength > 0 AND iLength < 1048576 THEN DO:
    oStats = CAST(NEW ObjectModelParser():Parse(GET-STRING(mStats, 1)), JsonObject).
    MESSAGE "statistics: txmsgs =" oStats:GetInt64("txmsgs") "msg_cnt =" oStats:GetInt64("msg_cnt").
END.
SET-SIZE(mStats) = 0.

/* ------------------------------------------------------------ close, free */
RUN producer_close (hProducer, 10000, OUTPUT iRc).   /* flushes, joins the thread */
RUN producer_free (hProducer).

/* Reads a string the library returned (its address) through a MEMPTR. */
FUNCTION LibraryString RETURNS CHARACTER (INPUT iAddress AS INT64):
    DEFINE VARIABLE mText AS MEMPTR    NO-UNDO.
    DEFINE VARIABLE cText AS CHARACTER NO-UNDO.
    IF iAddress = 0 THEN RETURN ?.
    SET-POINTER-VALUE(mText) = iAddress.
    cText = GET-STRING(mText, 1).
    SET-POINTER-VALUE(mText) = 0.          /* forget it; never SET-SIZE(mText) = 0 */
    RETURN cText.
END FUNCTION.

/* ------------------------------------------------------------ the library's functions */
PROCEDURE producer_builder_new EXTERNAL {&LIB} CDECL PERSISTENT:
    DEFINE RETURN PARAMETER hBuilder AS INT64.
END PROCEDURE.

PROCEDURE producer_builder_set_option EXTERNAL {&LIB} CDECL PERSISTENT:
    DEFINE INPUT  PARAMETER hBuilder AS INT64.
    DEFINE INPUT  PARAMETER cName    AS CHARACTER.
    DEFINE INPUT  PARAMETER cValue   AS CHARACTER.
    DEFINE RETURN PARAMETER iRc      AS LONG.
END PROCEDURE.

PROCEDURE producer_builder_last_error EXTERNAL {&LIB} CDECL PERSISTENT:
    DEFINE INPUT  PARAMETER hBuilder AS INT64.
    DEFINE RETURN PARAMETER iAddress AS INT64.   /* const char *, read via MEMPTR */
END PROCEDURE.

PROCEDURE producer_builder_set_topic_option EXTERNAL {&LIB} CDECL PERSISTENT:
    DEFINE INPUT  PARAMETER hBuilder AS INT64.
    DEFINE INPUT  PARAMETER cTopic   AS CHARACTER.
    DEFINE INPUT  PARAMETER cName    AS CHARACTER.
    DEFINE INPUT  PARAMETER cValue   AS CHARACTER.
    DEFINE RETURN PARAMETER iRc      AS LONG.      /* -2: not a topic-level option */
END PROCEDURE.

PROCEDURE producer_get_topic_option EXTERNAL {&LIB} CDECL PERSISTENT:
    DEFINE INPUT  PARAMETER hProducer AS INT64.
    DEFINE INPUT  PARAMETER cTopic    AS CHARACTER.
    DEFINE INPUT  PARAMETER cName     AS CHARACTER.
    DEFINE INPUT  PARAMETER iBuffer   AS INT64.     /* the MEMPTR's address */
    DEFINE INPUT  PARAMETER iBufLen   AS INT64.
    DEFINE RETURN PARAMETER iLength   AS INT64.     /* -2: not a topic-level option */
END PROCEDURE.

PROCEDURE producer_get_option EXTERNAL {&LIB} CDECL PERSISTENT:
    DEFINE INPUT  PARAMETER hProducer AS INT64.
    DEFINE INPUT  PARAMETER cName     AS CHARACTER.
    DEFINE INPUT  PARAMETER iBuffer   AS INT64.     /* the MEMPTR's address */
    DEFINE INPUT  PARAMETER iBufLen   AS INT64.
    DEFINE RETURN PARAMETER iLength   AS INT64.     /* -2: no such option */
END PROCEDURE.

PROCEDURE producer_builder_build EXTERNAL {&LIB} CDECL PERSISTENT:
    DEFINE INPUT  PARAMETER hBuilder  AS INT64.
    DEFINE RETURN PARAMETER hProducer AS INT64.
END PROCEDURE.

PROCEDURE producer_builder_free EXTERNAL {&LIB} CDECL PERSISTENT:
    DEFINE INPUT PARAMETER hBuilder AS INT64.
END PROCEDURE.

PROCEDURE producer_send EXTERNAL {&LIB} CDECL PERSISTENT THREAD-SAFE:
    DEFINE INPUT  PARAMETER hProducer AS INT64.
    DEFINE INPUT  PARAMETER cTopic    AS CHARACTER.
    DEFINE INPUT  PARAMETER mKey      AS MEMPTR.
    DEFINE INPUT  PARAMETER iKeyLen   AS INT64.     /* size_t */
    DEFINE INPUT  PARAMETER mValue    AS MEMPTR.
    DEFINE INPUT  PARAMETER iValueLen AS INT64.     /* size_t */
    DEFINE RETURN PARAMETER hResponse AS INT64.
END PROCEDURE.

PROCEDURE producer_send_record EXTERNAL {&LIB} CDECL PERSISTENT THREAD-SAFE:
    DEFINE INPUT  PARAMETER hProducer AS INT64.
    DEFINE INPUT  PARAMETER hRecord   AS INT64.
    DEFINE RETURN PARAMETER hResponse AS INT64.
END PROCEDURE.

PROCEDURE producer_send_no_receipt EXTERNAL {&LIB} CDECL PERSISTENT THREAD-SAFE:
    DEFINE INPUT  PARAMETER hProducer AS INT64.
    DEFINE INPUT  PARAMETER cTopic    AS CHARACTER.
    DEFINE INPUT  PARAMETER mKey      AS MEMPTR.
    DEFINE INPUT  PARAMETER iKeyLen   AS INT64.
    DEFINE INPUT  PARAMETER mValue    AS MEMPTR.
    DEFINE INPUT  PARAMETER iValueLen AS INT64.
    DEFINE RETURN PARAMETER iRc       AS LONG.       /* 0: queued */
END PROCEDURE.

PROCEDURE producer_no_receipt_failures EXTERNAL {&LIB} CDECL PERSISTENT THREAD-SAFE:
    DEFINE INPUT  PARAMETER hProducer AS INT64.
    DEFINE RETURN PARAMETER iFailed   AS INT64.
END PROCEDURE.

PROCEDURE producer_no_receipt_last_error EXTERNAL {&LIB} CDECL PERSISTENT THREAD-SAFE:
    DEFINE INPUT  PARAMETER hProducer AS INT64.
    DEFINE RETURN PARAMETER iCode     AS LONG.
END PROCEDURE.

PROCEDURE record_builder_new EXTERNAL {&LIB} CDECL PERSISTENT:
    DEFINE RETURN PARAMETER hRecord AS INT64.
END PROCEDURE.

PROCEDURE record_builder_set_topic EXTERNAL {&LIB} CDECL PERSISTENT:
    DEFINE INPUT  PARAMETER hRecord AS INT64.
    DEFINE INPUT  PARAMETER cTopic  AS CHARACTER.
    DEFINE RETURN PARAMETER iRc     AS LONG.
END PROCEDURE.

PROCEDURE record_builder_set_value EXTERNAL {&LIB} CDECL PERSISTENT:
    DEFINE INPUT  PARAMETER hRecord   AS INT64.
    DEFINE INPUT  PARAMETER mValue    AS MEMPTR.
    DEFINE INPUT  PARAMETER iValueLen AS INT64.
    DEFINE RETURN PARAMETER iRc       AS LONG.
END PROCEDURE.

PROCEDURE record_builder_set_partition EXTERNAL {&LIB} CDECL PERSISTENT:
    DEFINE INPUT  PARAMETER hRecord    AS INT64.
    DEFINE INPUT  PARAMETER iPartition AS LONG.     /* -1: the partitioner chooses */
    DEFINE RETURN PARAMETER iRc        AS LONG.
END PROCEDURE.

PROCEDURE record_builder_add_header EXTERNAL {&LIB} CDECL PERSISTENT:
    DEFINE INPUT  PARAMETER hRecord   AS INT64.
    DEFINE INPUT  PARAMETER cName     AS CHARACTER.
    DEFINE INPUT  PARAMETER mValue    AS MEMPTR.
    DEFINE INPUT  PARAMETER iValueLen AS INT64.
    DEFINE RETURN PARAMETER iRc       AS LONG.
END PROCEDURE.

PROCEDURE record_builder_free EXTERNAL {&LIB} CDECL PERSISTENT:
    DEFINE INPUT  PARAMETER hRecord AS INT64.
END PROCEDURE.

PROCEDURE ablkafka_err2str EXTERNAL {&LIB} CDECL PERSISTENT THREAD-SAFE:
    DEFINE INPUT  PARAMETER iCode    AS LONG.
    DEFINE RETURN PARAMETER iAddress AS INT64.   /* const char *, static */
END PROCEDURE.

PROCEDURE producer_statistics EXTERNAL {&LIB} CDECL PERSISTENT THREAD-SAFE:
    DEFINE INPUT  PARAMETER hProducer AS INT64.
    DEFINE INPUT  PARAMETER iBuffer   AS INT64.     /* the MEMPTR's address */
    DEFINE INPUT  PARAMETER iBufLen   AS INT64.
    DEFINE RETURN PARAMETER iLength   AS INT64.     /* the JSON's full length; 0: none yet */
END PROCEDURE.

PROCEDURE producer_log_next EXTERNAL {&LIB} CDECL PERSISTENT THREAD-SAFE:
    DEFINE INPUT  PARAMETER hProducer AS INT64.
    DEFINE INPUT  PARAMETER iBuffer   AS INT64.     /* the MEMPTR's address */
    DEFINE INPUT  PARAMETER iBufLen   AS INT64.
    DEFINE RETURN PARAMETER iLevel    AS LONG.      /* 0: no line waiting */
END PROCEDURE.

PROCEDURE producer_flush EXTERNAL {&LIB} CDECL PERSISTENT THREAD-SAFE:
    DEFINE INPUT  PARAMETER hProducer  AS INT64.
    DEFINE INPUT  PARAMETER iTimeoutMs AS LONG.
    DEFINE RETURN PARAMETER iRc        AS LONG.
END PROCEDURE.

PROCEDURE producer_close EXTERNAL {&LIB} CDECL PERSISTENT THREAD-SAFE:
    DEFINE INPUT  PARAMETER hProducer  AS INT64.
    DEFINE INPUT  PARAMETER iTimeoutMs AS LONG.
    DEFINE RETURN PARAMETER iRc        AS LONG.
END PROCEDURE.

PROCEDURE producer_free EXTERNAL {&LIB} CDECL PERSISTENT:
    DEFINE INPUT PARAMETER hProducer AS INT64.
END PROCEDURE.

PROCEDURE response_wait EXTERNAL {&LIB} CDECL PERSISTENT THREAD-SAFE:
    DEFINE INPUT  PARAMETER hResponse  AS INT64.
    DEFINE INPUT  PARAMETER iTimeoutMs AS LONG.
    DEFINE RETURN PARAMETER iDone      AS LONG.
END PROCEDURE.

PROCEDURE response_completed EXTERNAL {&LIB} CDECL PERSISTENT THREAD-SAFE:
    DEFINE INPUT  PARAMETER hResponse AS INT64.
    DEFINE RETURN PARAMETER iFlag     AS LONG.
END PROCEDURE.

PROCEDURE response_success EXTERNAL {&LIB} CDECL PERSISTENT THREAD-SAFE:
    DEFINE INPUT  PARAMETER hResponse AS INT64.
    DEFINE RETURN PARAMETER iFlag     AS LONG.
END PROCEDURE.

PROCEDURE response_error_code EXTERNAL {&LIB} CDECL PERSISTENT THREAD-SAFE:
    DEFINE INPUT  PARAMETER hResponse AS INT64.
    DEFINE RETURN PARAMETER iCode     AS LONG.
END PROCEDURE.

PROCEDURE response_error_message EXTERNAL {&LIB} CDECL PERSISTENT THREAD-SAFE:
    DEFINE INPUT  PARAMETER hResponse AS INT64.
    DEFINE RETURN PARAMETER iAddress  AS INT64.   /* const char *, read via MEMPTR */
END PROCEDURE.

PROCEDURE response_partition EXTERNAL {&LIB} CDECL PERSISTENT THREAD-SAFE:
    DEFINE INPUT  PARAMETER hResponse  AS INT64.
    DEFINE RETURN PARAMETER iPartition AS LONG.
END PROCEDURE.

PROCEDURE response_topic EXTERNAL {&LIB} CDECL PERSISTENT THREAD-SAFE:
    DEFINE INPUT  PARAMETER hResponse AS INT64.
    DEFINE RETURN PARAMETER iAddress  AS INT64.   /* const char *, valid until response_free */
END PROCEDURE.

PROCEDURE response_offset EXTERNAL {&LIB} CDECL PERSISTENT THREAD-SAFE:
    DEFINE INPUT  PARAMETER hResponse AS INT64.
    DEFINE RETURN PARAMETER iOffset   AS INT64.
END PROCEDURE.

PROCEDURE response_free EXTERNAL {&LIB} CDECL PERSISTENT THREAD-SAFE:
    DEFINE INPUT PARAMETER hResponse AS INT64.
END PROCEDURE.
