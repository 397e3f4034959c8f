// The interface between the fast bench (fast_harness.cpp) and one Verilated design.
//
// fast_harness.cpp is the same for every design, so the C++ compiler cache (ccache) can
// reuse its object; only fast_top.cpp, a few lines, includes the design's Vtop.h.
#pragma once

#include <cstdint>

class VerilatedContext;
class VerilatedFstC;

struct HwgenTop {
    virtual ~HwgenTop() = default;
    // Set the top's inputs (the ports of DESIGN.md section 5), then settle the logic.
    virtual void drive(bool rst, bool in_valid, uint64_t in_payload, bool out_ready) = 0;
    virtual void set_clock(bool clk) = 0;   // and settle
    virtual bool in_ready() const = 0;
    virtual void trace(VerilatedFstC* fst) = 0;
    virtual void final() = 0;
};

HwgenTop* hwgen_make_top(VerilatedContext* context);
