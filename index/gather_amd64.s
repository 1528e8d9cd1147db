#include "textflag.h"

// func gatherAVX2(q *float32, base *float32, dim int, ids *uint32, n int, out *float32)
// out[i] = Σ_j (q[j] - base[ids[i]*dim + j])² for i < n; dim is a positive
// multiple of 16. While row ids[i] is summed, row ids[i+2] is prefetched:
// the rows of a neighbour list are scattered over the index, so their
// cache misses overlap instead of following one another.
TEXT ·gatherAVX2(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), SI
	MOVQ base+8(FP), DI
	MOVQ dim+16(FP), CX
	MOVQ ids+24(FP), R8
	MOVQ n+32(FP), DX
	MOVQ out+40(FP), R9
	MOVQ CX, R11
	SHLQ $2, R11             // bytes per row

	// Prefetch the first two rows.
	CMPQ DX, $0
	JLE  done
	MOVL (R8), AX
	IMULQ R11, AX
	LEAQ (DI)(AX*1), R10
	MOVQ R11, BX
pf0:
	PREFETCHT0 (R10)
	ADDQ $64, R10
	SUBQ $64, BX
	JG   pf0
	CMPQ DX, $1
	JLE  row
	MOVL 4(R8), AX
	IMULQ R11, AX
	LEAQ (DI)(AX*1), R10
	MOVQ R11, BX
pf1:
	PREFETCHT0 (R10)
	ADDQ $64, R10
	SUBQ $64, BX
	JG   pf1

row:
	CMPQ DX, $2
	JLE  sum
	MOVL 8(R8), AX
	IMULQ R11, AX
	LEAQ (DI)(AX*1), R10
	MOVQ R11, BX
pf2:
	PREFETCHT0 (R10)
	ADDQ $64, R10
	SUBQ $64, BX
	JG   pf2

sum:
	MOVL   (R8), AX
	IMULQ  R11, AX
	LEAQ   (DI)(AX*1), R10
	MOVQ   SI, BX
	MOVQ   CX, R12
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

inner:
	VMOVUPS     (BX), Y2
	VMOVUPS     32(BX), Y3
	VSUBPS      (R10), Y2, Y2
	VSUBPS      32(R10), Y3, Y3
	VFMADD231PS Y2, Y2, Y0
	VFMADD231PS Y3, Y3, Y1
	ADDQ        $64, BX
	ADDQ        $64, R10
	SUBQ        $16, R12
	JNZ         inner

	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VMOVSS       X0, (R9)
	ADDQ         $4, R8
	ADDQ         $4, R9
	DECQ         DX
	JNZ          row

done:
	VZEROUPPER
	RET
