package outbox

import "context"

// DeliverDue runs one round of Run: it claims what is due and delivers it,
// returning once every outcome is recorded.
func (o *Outbox) DeliverDue(ctx context.Context) (int, error) { return o.deliverDue(ctx) }
