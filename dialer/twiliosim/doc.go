// Package twiliosim is a Twilio look-alike for Huifang's tests, demo and
// load tests: the one stand-in in the project. It must be indistinguishable
// from Twilio at the wire, so the code under test is the production code.
//
// # Pointing twilio-go at it
//
// The real, unmodified twilio-go client talks to the simulator. twilio-go
// builds every request URL from the fixed base https://api.twilio.com (its
// edge and region settings only rewrite that host to another *.twilio.com
// name), so the seam is its HTTP client: NewTransport returns an
// http.RoundTripper that sends every request for a twilio.com host to the
// simulator's address unchanged — method, path, query, headers, Basic auth,
// form body — and refuses any other host, so nothing can reach the real
// Twilio by mistake. A carrier built like production, with credentials
// passed explicitly (never read from TWILIO_* variables), then differs by
// its HTTP client alone:
//
//	sim, _ := twiliosim.Start(twiliosim.Options{Speed: 1000})
//	defer sim.Close()
//	hc, _ := twiliosim.NewHTTPClient(sim.URL())
//	c := &client.Client{Credentials: client.NewCredentials(sim.AccountSID(), sim.AuthToken()), HTTPClient: hc}
//	c.SetAccountSid(sim.AccountSID())
//	rc := twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
//
// NewRestClient (and Simulator.RestClient) do exactly that. To serve the
// simulator on your own listener use New and httptest.NewServer(sim) (a
// Simulator is an http.Handler) with NewHTTPClient(server.URL); for the
// standalone `huifang twiliosim` command, Serve(ctx, addr).
//
// # What it serves
//
// The 2010-04-01 REST API for calls and messages, with form-encoded
// requests, HTTP Basic authentication by account SID and auth token (401,
// code 20003, otherwise), Twilio's JSON resources (every field, null where
// Twilio has none, RFC 2822 dates, SIDs "CA"/"SM" + 32 hex digits, paging
// with next_page_uri) and Twilio's error shape {"code", "message",
// "more_info", "status"}, which twilio-go turns into *client.TwilioRestError:
//
//   - Calls: create (To, From, Url or Twiml, Method, FallbackUrl,
//     StatusCallback, StatusCallbackEvent repeated or space-separated,
//     StatusCallbackMethod, Timeout, TimeLimit, MachineDetection, AsyncAmd,
//     AsyncAmdStatusCallback, Record, RecordingStatusCallback), fetch, list
//     (To, From, Status, StartTime, StartTime> and StartTime< — that is
//     "StartTime>=" on or after —, EndTime…; newest first), update
//     (Status=completed hangs up, canceled cancels, Url/Twiml redirect);
//   - Messages: create (To, From or MessagingServiceSid, Body,
//     StatusCallback, ValidityPeriod), fetch, list (To, From, DateSent…).
//   - Recordings: fetch the media of a recording the simulator made, as
//     Twilio serves it with HTTP authentication of media on: WAV with no
//     extension or .wav (silence of the recording's length, 8 kHz 16-bit
//     mono; Range requests answered), the metadata with .json; .mp3 is not
//     simulated.
//
// Errors use Twilio's codes: 21201/21213 missing To/From, 21211/21212 bad
// To/From, 21205 bad or missing Url, 21220 redirecting a call not in
// progress, 21602 empty body, 21603/21604 missing From/To, 21610 sending to
// a number that opted out, 21617 body over 1600 characters, 21624 bad
// ValidityPeriod, 20404 unknown resource. Values Twilio would reject
// without a documented code of their own (a Method of "PUT", a Timeout of
// "abc") get code 20001 with the parameter named in the message.
//
// # How a call goes
//
// As on Twilio, in simulated time: queued; initiated; the persona's phone
// rings (Persona.Answer) — busy, unreachable (failed), ringing out past
// Timeout (no-answer), or picked up by a person or a machine; in-progress.
// With MachineDetection, detection takes a few seconds and reports
// AnsweredBy human, machine_start, or with DetectMessageEnd
// machine_end_beep: before the TwiML is fetched (then AnsweredBy is in that
// request), or with AsyncAmd in the background, posted to
// AsyncAmdStatusCallback (AccountSid, CallSid, AnsweredBy,
// MachineDetectionDuration) while the TwiML runs.
//
// The simulator fetches the TwiML from Url with the call's parameters
// (AccountSid, ApiVersion, CallSid, CallStatus, Called, Caller, Direction
// outbound-api, From, To) and runs it: <Say> (text, voice, language, loop),
// <Play>, <Pause length>, <Gather> (input dtmf/speech, numDigits, timeout,
// finishOnKey, action, method, actionOnEmptyResult, nested Say/Play/Pause),
// <Record> (action, method, timeout, maxLength, finishOnKey,
// recordingStatusCallback), <Redirect>, <Hangup>, and <Dial> (recorded as
// dialled, then the TwiML goes on). A <Gather> hands the persona what it
// has just heard (Persona.Respond) and posts its keys or words to the
// action as Digits (and FinishedOnKey) or SpeechResult and Confidence; with
// no input it falls through to the next verb, or posts an empty result
// with actionOnEmptyResult. A <Record> posts RecordingUrl,
// RecordingDuration, RecordingSid and Digits to its action, and only after
// that its recording status callback, as Twilio does. Relative URLs resolve
// against the document's URL; a missing action is the document itself.
// When the verbs run out the call hangs up. A TwiML URL that fails (network
// error, non-2xx: 11200), a document that is not TwiML (12100) or of
// another content type (12300) ends the call with Twilio's "application
// error" announcement, after FallbackUrl if the call has one; text/plain is
// spoken and audio/* played, as Twilio does. Verbs and attributes Twilio
// would flag are recorded as warnings (CallRecord.Problems) and skipped.
//
// Status callbacks go only for the StatusCallbackEvent values asked for
// (only completed when none are), in Twilio's order, with the call's
// parameters plus CallStatus (initiated, ringing, in-progress, then
// completed, busy, no-answer, failed or canceled), Timestamp,
// SequenceNumber (from 0 per call), CallbackSource call-progress-events,
// AnsweredBy once known, and on the last one CallDuration, Duration
// (minutes) and, with Record=true, RecordingUrl, RecordingSid and
// RecordingDuration.
//
// # How a message goes
//
// accepted (with a MessagingServiceSid and no From), queued, sent, then
// delivered, undelivered or failed with an ErrorCode (the persona decides,
// see DeliveryDecider; a ValidityPeriod that runs out first fails it with
// 30036), each status posted to StatusCallback with AccountSid, ApiVersion,
// From, To, MessageSid, SmsSid, MessageStatus, SmsStatus and ErrorCode. A
// delivered message goes to the persona (Persona.Reply), whose reply comes
// back as an inbound message posted to Options.SMSURL the way Twilio posts
// "a message comes in": MessageSid, SmsMessageSid, SmsSid, AccountSid,
// From, To, Body, NumMedia, NumSegments, SmsStatus received, FromCountry,
// ToCountry, and OptOutType for Twilio's own keywords. A reply that is an
// opt-out word (STOP, 退订, TD … see DefaultOptOutWords) blocks further
// messages from that number to the customer: CreateMessage fails with
// 21610 "Attempt to send to unsubscribed recipient" until the customer
// sends START. Simulator.Inbound delivers a text a customer sends on their
// own.
//
// # Signatures
//
// Every webhook — TwiML fetches, actions, status, AMD, recording and SMS
// callbacks — carries X-Twilio-Signature computed as Twilio computes it
// (see Signature), which twilio-go's client.RequestValidator verifies, and
// an I-Twilio-Idempotency-Token that is the same on every delivery of the
// same callback.
//
// # Personas, time and faults
//
// A Persona plays the customer at each number; SamplePersona plays a
// workorders/sample job's ground truth, Script plays exact keys. Time runs
// on a Clock: Options.Speed 1000 makes a two-minute survey call take about
// a tenth of a second, while every duration and timestamp Huifang sees is
// still in simulated seconds. RESTFault makes requests fail with 429, 500
// or 503, or hang until the client gives up — optionally after taking
// effect, the ambiguous create. CallbackFault drops, duplicates or delays
// callbacks past the final one, which puts them out of order. Options.Latency
// slows every REST answer. WaitCall, WaitMessage and Idle let a test wait
// on the simulator instead of sleeping; Call, Calls, Message and Messages
// show what happened, including every Step of a call.
//
// Not simulated: applications (ApplicationSid), SIP and client endpoints,
// the Recordings, Notifications and Media subresources (RecordingUrl points
// at api.twilio.com but is not served), MMS, scheduled messages,
// account rate limits and queueing (a message never waits behind others),
// webhook retries (Twilio's connection overrides), and <Dial>'s other
// party.
package twiliosim
