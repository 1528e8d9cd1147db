#include "textflag.h"

// Sixteen int16 ones: VPMADDWD with it sums adjacent int16 pairs to int32.
DATA ones16<>+0(SB)/8, $0x0001000100010001
DATA ones16<>+8(SB)/8, $0x0001000100010001
DATA ones16<>+16(SB)/8, $0x0001000100010001
DATA ones16<>+24(SB)/8, $0x0001000100010001
GLOBL ones16<>(SB), RODATA|NOPTR, $32

// func scan1AVX2(q *int8, rows *uint8, stride, n int, norms *int32, lim int32, out *uint8)
// Four rows per step; out gets one byte per four rows, bit b set when row
// 4i+b is kept: norms[row] - 4*dot(q, row) <= lim.
TEXT ·scan1AVX2(SB), NOSPLIT, $0-56
	MOVQ         q+0(FP), SI
	MOVQ         rows+8(FP), DI
	MOVQ         stride+16(FP), CX
	MOVQ         n+24(FP), DX
	MOVQ         norms+32(FP), R12
	MOVL         lim+40(FP), AX
	VMOVD        AX, X15
	VPBROADCASTD X15, X15
	MOVQ         out+48(FP), R8
	LEAQ         (CX)(CX*2), R9 // 3*stride
	VMOVDQU      ones16<>(SB), Y14

rows4:
	CMPQ  DX, $4
	JL    done1
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	MOVQ  SI, BX
	MOVQ  DI, R10
	MOVQ  CX, AX

inner1:
	VMOVDQU    (R10), Y4
	VMOVDQU    (R10)(CX*1), Y5
	VMOVDQU    (R10)(CX*2), Y6
	VMOVDQU    (R10)(R9*1), Y7
	VPMADDUBSW (BX), Y4, Y4
	VPMADDUBSW (BX), Y5, Y5
	VPMADDUBSW (BX), Y6, Y6
	VPMADDUBSW (BX), Y7, Y7
	VPMADDWD   Y14, Y4, Y4
	VPMADDWD   Y14, Y5, Y5
	VPMADDWD   Y14, Y6, Y6
	VPMADDWD   Y14, Y7, Y7
	VPADDD     Y4, Y0, Y0
	VPADDD     Y5, Y1, Y1
	VPADDD     Y6, Y2, Y2
	VPADDD     Y7, Y3, Y3
	ADDQ       $32, BX
	ADDQ       $32, R10
	SUBQ       $32, AX
	JNZ        inner1

	VPHADDD      Y1, Y0, Y0
	VPHADDD      Y3, Y2, Y2
	VPHADDD      Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0  // dots of the four rows
	VPSLLD       $2, X0, X0
	VMOVDQU      (R12), X1
	VPSUBD       X0, X1, X1  // norms - 4*dot
	VPCMPGTD     X15, X1, X1 // > lim: skipped
	VMOVMSKPS    X1, AX
	XORL         $15, AX
	MOVB         AX, (R8)
	ADDQ         $1, R8
	ADDQ         $16, R12
	LEAQ         (DI)(CX*4), DI
	SUBQ         $4, DX
	JMP          rows4

done1:
	VZEROUPPER
	RET

// func scan4AVX2(q *int8, rows *uint8, stride, n int, norms *int32, lim *int32, out *uint8)
// Two rows by four queries per step; out gets one byte per row, bit k set
// when the row is kept for query k: norms[row] - 4*dot(q_k, row) <= lim[k].
TEXT ·scan4AVX2(SB), NOSPLIT, $0-56
	MOVQ    q+0(FP), SI
	MOVQ    rows+8(FP), DI
	MOVQ    stride+16(FP), CX
	MOVQ    n+24(FP), DX
	MOVQ    norms+32(FP), R12
	MOVQ    lim+40(FP), AX
	VMOVDQU (AX), X15
	MOVQ    out+48(FP), R8
	LEAQ    (CX)(CX*2), R11 // 3 queries on
	VMOVDQU ones16<>(SB), Y14

rows2:
	CMPQ  DX, $2
	JL    done4
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	MOVQ  SI, BX
	MOVQ  DI, R10
	MOVQ  CX, AX

inner4:
	VMOVDQU    (R10), Y8
	VMOVDQU    (R10)(CX*1), Y9
	VPMADDUBSW (BX), Y8, Y10
	VPMADDUBSW (BX), Y9, Y11
	VPMADDWD   Y14, Y10, Y10
	VPMADDWD   Y14, Y11, Y11
	VPADDD     Y10, Y0, Y0
	VPADDD     Y11, Y4, Y4
	VPMADDUBSW (BX)(CX*1), Y8, Y10
	VPMADDUBSW (BX)(CX*1), Y9, Y11
	VPMADDWD   Y14, Y10, Y10
	VPMADDWD   Y14, Y11, Y11
	VPADDD     Y10, Y1, Y1
	VPADDD     Y11, Y5, Y5
	VPMADDUBSW (BX)(CX*2), Y8, Y10
	VPMADDUBSW (BX)(CX*2), Y9, Y11
	VPMADDWD   Y14, Y10, Y10
	VPMADDWD   Y14, Y11, Y11
	VPADDD     Y10, Y2, Y2
	VPADDD     Y11, Y6, Y6
	VPMADDUBSW (BX)(R11*1), Y8, Y10
	VPMADDUBSW (BX)(R11*1), Y9, Y11
	VPMADDWD   Y14, Y10, Y10
	VPMADDWD   Y14, Y11, Y11
	VPADDD     Y10, Y3, Y3
	VPADDD     Y11, Y7, Y7
	ADDQ       $32, BX
	ADDQ       $32, R10
	SUBQ       $32, AX
	JNZ        inner4

	VPHADDD      Y1, Y0, Y0
	VPHADDD      Y3, Y2, Y2
	VPHADDD      Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0 // row A, queries 0..3
	VPSLLD       $2, X0, X0
	VPBROADCASTD (R12), X1
	VPSUBD       X0, X1, X1
	VPCMPGTD     X15, X1, X1
	VMOVMSKPS    X1, AX
	XORL         $15, AX
	MOVB         AX, (R8)

	VPHADDD      Y5, Y4, Y4
	VPHADDD      Y7, Y6, Y6
	VPHADDD      Y6, Y4, Y4
	VEXTRACTI128 $1, Y4, X5
	VPADDD       X5, X4, X4 // row B
	VPSLLD       $2, X4, X4
	VPBROADCASTD 4(R12), X5
	VPSUBD       X4, X5, X5
	VPCMPGTD     X15, X5, X5
	VMOVMSKPS    X5, AX
	XORL         $15, AX
	MOVB         AX, 1(R8)

	ADDQ $2, R8
	ADDQ $8, R12
	LEAQ (DI)(CX*2), DI
	SUBQ $2, DX
	JMP  rows2

done4:
	VZEROUPPER
	RET

// func dotU8AVX2(q *int8, row *uint8, n int) int32
// Σ_j q[j]·row[j] for n a positive multiple of 32 (see scan1AVX2's limits).
TEXT ·dotU8AVX2(SB), NOSPLIT, $0-28
	MOVQ       q+0(FP), SI
	MOVQ       row+8(FP), DI
	MOVQ       n+16(FP), CX
	VMOVDQU    ones16<>(SB), Y14
	VPXOR      Y0, Y0, Y0

dot:
	VMOVDQU    (DI), Y1
	VPMADDUBSW (SI), Y1, Y1
	VPMADDWD   Y14, Y1, Y1
	VPADDD     Y1, Y0, Y0
	ADDQ       $32, SI
	ADDQ       $32, DI
	SUBQ       $32, CX
	JNZ        dot

	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0x4e, X0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0xb1, X0, X1
	VPADDD       X1, X0, X0
	VMOVD        X0, AX
	MOVL         AX, ret+24(FP)
	VZEROUPPER
	RET
