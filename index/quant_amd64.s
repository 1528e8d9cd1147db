#include "textflag.h"

// func dots1AVX2(q *int16, rows *int8, stride, n int, out *int32)
// Four rows per step share each 16-code slice of the query.
TEXT ·dots1AVX2(SB), NOSPLIT, $0-40
	MOVQ q+0(FP), SI
	MOVQ rows+8(FP), DI
	MOVQ stride+16(FP), CX
	MOVQ n+24(FP), DX
	MOVQ out+32(FP), R8
	LEAQ (CX)(CX*2), R9 // 3*stride

rows4:
	CMPQ DX, $4
	JL   done
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	MOVQ SI, BX
	MOVQ DI, R10
	MOVQ CX, AX

inner1:
	VMOVDQU   (BX), Y4
	VPMOVSXBW (R10), Y5
	VPMOVSXBW (R10)(CX*1), Y6
	VPMOVSXBW (R10)(CX*2), Y7
	VPMOVSXBW (R10)(R9*1), Y8
	VPMADDWD  Y4, Y5, Y5
	VPMADDWD  Y4, Y6, Y6
	VPMADDWD  Y4, Y7, Y7
	VPMADDWD  Y4, Y8, Y8
	VPADDD    Y5, Y0, Y0
	VPADDD    Y6, Y1, Y1
	VPADDD    Y7, Y2, Y2
	VPADDD    Y8, Y3, Y3
	ADDQ      $32, BX
	ADDQ      $16, R10
	SUBQ      $16, AX
	JNZ       inner1

	VPHADDD      Y1, Y0, Y0
	VPHADDD      Y3, Y2, Y2
	VPHADDD      Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VMOVDQU      X0, (R8)
	ADDQ         $16, R8
	LEAQ         (DI)(CX*4), DI
	SUBQ         $4, DX
	JMP          rows4

done:
	VZEROUPPER
	RET

// func dots4AVX2(q *int16, rows *int8, stride, n int, out *int32)
// Two rows by four queries per step: each widened row slice serves four
// queries and each query slice two rows.
TEXT ·dots4AVX2(SB), NOSPLIT, $0-40
	MOVQ q+0(FP), SI
	MOVQ rows+8(FP), DI
	MOVQ stride+16(FP), CX
	MOVQ n+24(FP), DX
	MOVQ out+32(FP), R8
	LEAQ (CX)(CX*1), R9   // bytes between queries: 2*stride
	LEAQ (R9)(R9*2), R11  // 3 queries on

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
	VPMOVSXBW (R10), Y8
	VPMOVSXBW (R10)(CX*1), Y9
	VMOVDQU   (BX), Y10
	VPMADDWD  Y10, Y8, Y11
	VPMADDWD  Y10, Y9, Y12
	VPADDD    Y11, Y0, Y0
	VPADDD    Y12, Y4, Y4
	VMOVDQU   (BX)(R9*1), Y10
	VPMADDWD  Y10, Y8, Y11
	VPMADDWD  Y10, Y9, Y12
	VPADDD    Y11, Y1, Y1
	VPADDD    Y12, Y5, Y5
	VMOVDQU   (BX)(R9*2), Y10
	VPMADDWD  Y10, Y8, Y11
	VPMADDWD  Y10, Y9, Y12
	VPADDD    Y11, Y2, Y2
	VPADDD    Y12, Y6, Y6
	VMOVDQU   (BX)(R11*1), Y10
	VPMADDWD  Y10, Y8, Y11
	VPMADDWD  Y10, Y9, Y12
	VPADDD    Y11, Y3, Y3
	VPADDD    Y12, Y7, Y7
	ADDQ      $32, BX
	ADDQ      $16, R10
	SUBQ      $16, AX
	JNZ       inner4

	VPHADDD      Y1, Y0, Y0
	VPHADDD      Y3, Y2, Y2
	VPHADDD      Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VMOVDQU      X0, (R8)
	VPHADDD      Y5, Y4, Y4
	VPHADDD      Y7, Y6, Y6
	VPHADDD      Y6, Y4, Y4
	VEXTRACTI128 $1, Y4, X5
	VPADDD       X5, X4, X4
	VMOVDQU      X4, 16(R8)
	ADDQ         $32, R8
	LEAQ         (DI)(CX*2), DI
	SUBQ         $2, DX
	JMP          rows2

done4:
	VZEROUPPER
	RET
