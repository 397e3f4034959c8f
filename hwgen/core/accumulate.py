"""The accumulate step and the accumulator write port, shared by the cores that add
weights into rows of ``P`` accumulators (the dense :class:`~hwgen.core.neuron_core.NeuronCore`
and the :class:`~hwgen.core.conv_core.ConvCore`)."""

from amaranth.hdl import Cat, Mux

__all__ = ["lane_sums", "write_accumulators"]


def lane_sums(acc_row, weight_row, value, lanes, acc_bits, weight_bits):
    """Per lane ``p``: accumulator ``p`` of ``acc_row`` plus weight ``p`` of ``weight_row``
    times ``value``, in ``acc_bits`` (it never wraps: the width is sized for the layer)."""
    sums = []
    for p in range(lanes):
        acc_lane = acc_row[p * acc_bits:(p + 1) * acc_bits].as_signed()
        w_lane = weight_row[p * weight_bits:(p + 1) * weight_bits].as_signed()
        # A binary event only masks the weight: no multiplier (DSP or LUTs).
        delta = Mux(value, w_lane, 0) if len(value) == 1 else w_lane * value
        sums.append((acc_lane + delta)[:acc_bits])
    return sums


def write_accumulators(m, acc_wr, *, init, init_addr, init_rows, b_acc, b_row, b_sums,
                       update):
    """The accumulator write port: one explicit choice among its three users. ``init``
    (the INIT phase) zeroes row ``init_addr`` while it is below ``init_rows``; stage B of
    the accumulate loop (``b_acc``) writes the summed row ``b_row`` back (``b_sums``: its
    lanes and any flag bits, low first); the neuron update zeroes a row once its last
    neuron is written back. Today they never meet (stage B's last write lands in the
    update's first cycle, before any row is cleared); the order says who wins if a
    pipeline change ever makes them."""
    with m.If(init):
        m.d.comb += [acc_wr.addr.eq(init_addr), acc_wr.data.eq(0),
                     acc_wr.en.eq(init_addr < init_rows)]
    with m.Elif(b_acc):
        m.d.comb += [acc_wr.addr.eq(b_row), acc_wr.data.eq(Cat(*b_sums)), acc_wr.en.eq(1)]
    with m.Elif(update.clear_row):
        m.d.comb += [acc_wr.addr.eq(update.clear_addr), acc_wr.data.eq(0), acc_wr.en.eq(1)]
