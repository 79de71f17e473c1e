package accounts

// DropLapsedPending lets tests run the sweep's delete on rows it did not
// select, as happens when they change between its read and its write.
var DropLapsedPending = (*Service).dropLapsedPending
