/**
 * Names of the signals delivery workflows take, shared by the workflow that handles them and the activities
 * that send them (which may not import workflow code). Pure.
 */

/** The send activity's report of a failed attempt or a wait (an `AttemptReport`), for the current details. */
export const ATTEMPT_REPORT_SIGNAL = 'heraldAttemptReport';
