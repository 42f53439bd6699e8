/* transactional.p -- OpenEdge's "basic transactional producer" with libablkafka: records
   and a consumer group's offsets committed together, or not at all.

   Not executed in this repository (there is no OpenEdge runtime here): its executable
   stand-in is `c-tests/abl_ctypes.py --transactions` (c-tests/abl_transactions.py), which
   makes the same calls with the same types against librdkafka's mock cluster and runs in
   `make test`.

   Run:  mpro -b -p transactional.p -param "127.0.0.1:9092,my-topic,my-group"
   with libablkafka.so on LD_LIBRARY_PATH, against a cluster with transactions (Kafka;
   tansu 0.6.0 has no EndTxn: the commit returns -165).

   The transaction calls block, each at most its timeout (-1: transaction.timeout.ms).
   When one fails, producer_transaction_error_class says what to do next:
     1 retriable: call the same procedure again (a commit that timed out resumes);
     2 the transaction must be aborted: RUN producer_abort_transaction;
     3 fatal (fenced by a newer producer with the same transactional.id): close.
   producer_transaction_error_message copies the reason into a MEMPTR. */

BLOCK-LEVEL ON ERROR UNDO, THROW.

&SCOPED-DEFINE LIB "libablkafka.so"
&SCOPED-DEFINE COUNT 20

DEFINE VARIABLE cBrokers  AS CHARACTER NO-UNDO.
DEFINE VARIABLE cTopic    AS CHARACTER NO-UNDO.
DEFINE VARIABLE cGroup    AS CHARACTER NO-UNDO.
DEFINE VARIABLE hBuilder  AS INT64     NO-UNDO.
DEFINE VARIABLE hProducer AS INT64     NO-UNDO.
DEFINE VARIABLE hOffsets  AS INT64     NO-UNDO.
DEFINE VARIABLE hResponse AS INT64     NO-UNDO EXTENT {&COUNT}.
DEFINE VARIABLE iRc       AS INTEGER   NO-UNDO.
DEFINE VARIABLE iClass    AS INTEGER   NO-UNDO.
DEFINE VARIABLE iCode     AS INTEGER   NO-UNDO.
DEFINE VARIABLE iLength   AS INT64     NO-UNDO.
DEFINE VARIABLE i         AS INTEGER   NO-UNDO.
DEFINE VARIABLE cValue    AS CHARACTER NO-UNDO.
DEFINE VARIABLE mValue    AS MEMPTR    NO-UNDO.
DEFINE VARIABLE mReason   AS MEMPTR    NO-UNDO.

ASSIGN cBrokers = ENTRY(1, SESSION:PARAMETER)
       cTopic   = ENTRY(2, SESSION:PARAMETER)
       cGroup   = ENTRY(3, SESSION:PARAMETER).

/* ------------------------------------------------------------ build, init */
RUN producer_builder_new (OUTPUT hBuilder).
RUN producer_builder_set_option (hBuilder, "bootstrap.servers", cBrokers, OUTPUT iRc).
/* OpenEdge's SetTransactionalId: the id survives restarts; a new producer with the same
   id fences the old one. It makes the producer idempotent (acks=all). */
IF iRc = 0 THEN RUN producer_builder_set_option (hBuilder, "transactional.id", "orders-mover-1", OUTPUT iRc).
IF iRc = 0 THEN RUN producer_builder_set_option (hBuilder, "transaction.timeout.ms", "60000", OUTPUT iRc).
IF iRc <> 0 THEN UNDO, THROW NEW Progress.Lang.AppError("an option was refused", iRc).
RUN producer_builder_build (hBuilder, OUTPUT hProducer).
RUN producer_builder_free (hBuilder).
IF hProducer = 0 THEN UNDO, THROW NEW Progress.Lang.AppError("build failed", -1).

/* OpenEdge's InitTransactions: once, before the first transaction. */
RUN producer_init_transactions (hProducer, 30000, OUTPUT iRc).
IF iRc <> 0 THEN RUN Fail ("InitTransactions", iRc).

/* ------------------------------------------------------------ one transaction */
RUN producer_begin_transaction (hProducer, OUTPUT iRc).
IF iRc <> 0 THEN RUN Fail ("BeginTransaction", iRc).

DO i = 1 TO {&COUNT}:
    cValue = "order " + STRING(i).
    SET-SIZE(mValue) = LENGTH(cValue, "RAW") + 1.
    PUT-STRING(mValue, 1) = cValue.
    /* A NULL key (0, 0); the value's bytes without the NUL. */
    RUN producer_send (hProducer, cTopic, 0, 0, mValue, LENGTH(cValue, "RAW"), OUTPUT hResponse[i]).
    SET-SIZE(mValue) = 0.   /* the library copied it */
END.

/* OpenEdge's SendOffsetsToTransaction: the input records this transaction consumed, as a
   list of TopicPartitionOffset built one entry at a time. */
RUN txn_offsets_new (OUTPUT hOffsets).
RUN txn_offsets_add (hOffsets, "orders-in", 0, 1042, OUTPUT iRc).
RUN txn_offsets_add (hOffsets, "orders-in", 1, 977, OUTPUT iRc).
RUN producer_send_offsets_to_transaction (hProducer, hOffsets, cGroup, -1, OUTPUT iRc).
RUN txn_offsets_free (hOffsets).
IF iRc <> 0 THEN RUN Fail ("SendOffsetsToTransaction", iRc).

/* OpenEdge's CommitTransaction: flushes, then commits; the records become visible to
   read_committed consumers now. */
RUN producer_commit_transaction (hProducer, 60000, OUTPUT iRc).
IF iRc <> 0 THEN RUN Fail ("CommitTransaction", iRc).

DO i = 1 TO {&COUNT}:
    RUN response_error_code (hResponse[i], OUTPUT iCode).
    IF iCode <> 0 THEN MESSAGE "record" i "failed:" iCode.
    RUN response_free (hResponse[i]).
END.
MESSAGE "committed" {&COUNT} "records and the group's offsets".

RUN producer_close (hProducer, 10000, OUTPUT iRc).
RUN producer_free (hProducer).

/* ------------------------------------------------------------ failures */
/* What producer_transaction_error_class says to do; aborts when it says so, else stops. */
PROCEDURE Fail:
    DEFINE INPUT PARAMETER cCall AS CHARACTER NO-UNDO.
    DEFINE INPUT PARAMETER iCall AS INTEGER   NO-UNDO.
    RUN producer_transaction_error_class (hProducer, OUTPUT iClass).
    /* Reasons are short; a longer one is cut (iLength says its full length). */
    SET-SIZE(mReason) = 1024.
    RUN producer_transaction_error_message (hProducer, mReason, 1024, OUTPUT iLength).
    MESSAGE cCall "failed:" iCall "class" iClass GET-STRING(mReason, 1).
    SET-SIZE(mReason) = 0.
    IF iClass = 2 THEN RUN producer_abort_transaction (hProducer, 60000, OUTPUT iRc).
    /* Class 1: a program would call cCall again; this example stops. */
    RUN producer_close (hProducer, 10000, OUTPUT iRc).
    RUN producer_free (hProducer).
    QUIT.
END PROCEDURE.

/* ------------------------------------------------------------ the library */
PROCEDURE producer_builder_new EXTERNAL {&LIB} PERSISTENT:
    DEFINE RETURN PARAMETER hBuilder AS INT64.
END PROCEDURE.
PROCEDURE producer_builder_set_option EXTERNAL {&LIB} PERSISTENT:
    DEFINE INPUT  PARAMETER hBuilder AS INT64.
    DEFINE INPUT  PARAMETER cName    AS CHARACTER.
    DEFINE INPUT  PARAMETER cValue   AS CHARACTER.
    DEFINE RETURN PARAMETER iRc      AS LONG.
END PROCEDURE.
PROCEDURE producer_builder_build EXTERNAL {&LIB} PERSISTENT:
    DEFINE INPUT  PARAMETER hBuilder  AS INT64.
    DEFINE RETURN PARAMETER hProducer AS INT64.
END PROCEDURE.
PROCEDURE producer_builder_free EXTERNAL {&LIB} PERSISTENT:
    DEFINE INPUT PARAMETER hBuilder AS INT64.
END PROCEDURE.
PROCEDURE producer_send EXTERNAL {&LIB} PERSISTENT:
    DEFINE INPUT  PARAMETER hProducer AS INT64.
    DEFINE INPUT  PARAMETER cTopic    AS CHARACTER.
    DEFINE INPUT  PARAMETER mKey      AS INT64.
    DEFINE INPUT  PARAMETER iKeyLen   AS INT64.
    DEFINE INPUT  PARAMETER mValue    AS MEMPTR.
    DEFINE INPUT  PARAMETER iValueLen AS INT64.
    DEFINE RETURN PARAMETER hResponse AS INT64.
END PROCEDURE.
PROCEDURE producer_init_transactions EXTERNAL {&LIB} PERSISTENT:
    DEFINE INPUT  PARAMETER hProducer AS INT64.
    DEFINE INPUT  PARAMETER iTimeout  AS LONG.
    DEFINE RETURN PARAMETER iRc       AS LONG.
END PROCEDURE.
PROCEDURE producer_begin_transaction EXTERNAL {&LIB} PERSISTENT:
    DEFINE INPUT  PARAMETER hProducer AS INT64.
    DEFINE RETURN PARAMETER iRc       AS LONG.
END PROCEDURE.
PROCEDURE txn_offsets_new EXTERNAL {&LIB} PERSISTENT:
    DEFINE RETURN PARAMETER hOffsets AS INT64.
END PROCEDURE.
PROCEDURE txn_offsets_add EXTERNAL {&LIB} PERSISTENT:
    DEFINE INPUT  PARAMETER hOffsets   AS INT64.
    DEFINE INPUT  PARAMETER cTopic     AS CHARACTER.
    DEFINE INPUT  PARAMETER iPartition AS LONG.
    DEFINE INPUT  PARAMETER iOffset    AS INT64.
    DEFINE RETURN PARAMETER iRc        AS LONG.
END PROCEDURE.
PROCEDURE txn_offsets_free EXTERNAL {&LIB} PERSISTENT:
    DEFINE INPUT PARAMETER hOffsets AS INT64.
END PROCEDURE.
PROCEDURE producer_send_offsets_to_transaction EXTERNAL {&LIB} PERSISTENT:
    DEFINE INPUT  PARAMETER hProducer AS INT64.
    DEFINE INPUT  PARAMETER hOffsets  AS INT64.
    DEFINE INPUT  PARAMETER cGroup    AS CHARACTER.
    DEFINE INPUT  PARAMETER iTimeout  AS LONG.
    DEFINE RETURN PARAMETER iRc       AS LONG.
END PROCEDURE.
PROCEDURE producer_commit_transaction EXTERNAL {&LIB} PERSISTENT:
    DEFINE INPUT  PARAMETER hProducer AS INT64.
    DEFINE INPUT  PARAMETER iTimeout  AS LONG.
    DEFINE RETURN PARAMETER iRc       AS LONG.
END PROCEDURE.
PROCEDURE producer_abort_transaction EXTERNAL {&LIB} PERSISTENT:
    DEFINE INPUT  PARAMETER hProducer AS INT64.
    DEFINE INPUT  PARAMETER iTimeout  AS LONG.
    DEFINE RETURN PARAMETER iRc       AS LONG.
END PROCEDURE.
PROCEDURE producer_transaction_error_class EXTERNAL {&LIB} PERSISTENT:
    DEFINE INPUT  PARAMETER hProducer AS INT64.
    DEFINE RETURN PARAMETER iClass    AS LONG.
END PROCEDURE.
PROCEDURE producer_transaction_error_message EXTERNAL {&LIB} PERSISTENT:
    DEFINE INPUT  PARAMETER hProducer AS INT64.
    DEFINE INPUT  PARAMETER mBuffer   AS MEMPTR.
    DEFINE INPUT  PARAMETER iSize     AS INT64.
    DEFINE RETURN PARAMETER iLength   AS INT64.
END PROCEDURE.
PROCEDURE response_error_code EXTERNAL {&LIB} PERSISTENT:
    DEFINE INPUT  PARAMETER hResponse AS INT64.
    DEFINE RETURN PARAMETER iCode     AS LONG.
END PROCEDURE.
PROCEDURE response_free EXTERNAL {&LIB} PERSISTENT:
    DEFINE INPUT PARAMETER hResponse AS INT64.
END PROCEDURE.
PROCEDURE producer_close EXTERNAL {&LIB} PERSISTENT:
    DEFINE INPUT  PARAMETER hProducer AS INT64.
    DEFINE INPUT  PARAMETER iTimeout  AS LONG.
    DEFINE RETURN PARAMETER iRc       AS LONG.
END PROCEDURE.
PROCEDURE producer_free EXTERNAL {&LIB} PERSISTENT:
    DEFINE INPUT PARAMETER hProducer AS INT64.
END PROCEDURE.
