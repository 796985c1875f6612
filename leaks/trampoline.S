/* trampoline.S - position-independent code csampler copies into a target process to
 * make one of its threads load a library, then resume exactly where it was.
 *
 * csampler writes this code, followed by the data block below (filled in) and the
 * library's path, into unused executable bytes of the target, points the stopped
 * thread's rip here and its rsp below the red zone, and lets it go. The thread saves
 * its FPU/SSE/AVX state, calls h = dlopen(path, RTLD_NOW) and, when an entry name is
 * given and h is not NULL, f = dlsym(h, entry) and f(&arg) if f is not NULL; then it
 * restores that state, every general register, the flags and rsp from the data
 * block, and jumps back. Nothing here needs csampler to be alive once the thread runs.
 *
 * It lives in .rodata: csampler itself never executes it.
 */
	.section .rodata
	.balign 64
	.globl	cs_tramp_begin
cs_tramp_begin:
	subq	$16384, %rsp
	andq	$-64, %rsp
	movq	%rsp, %rbx		/* state area; rbx is callee-saved across dlopen */
	cmpq	$0, use_xsave(%rip)
	je	1f
	leaq	512(%rbx), %rdi		/* XRSTOR needs a zeroed XSAVE header */
	xorl	%eax, %eax
	movl	$64, %ecx
	rep stosb
	movl	$-1, %eax
	movl	$-1, %edx
	xsave64	(%rbx)
	jmp	2f
1:	fxsave64 (%rbx)
2:	leaq	path(%rip), %rdi
	movl	$2, %esi		/* RTLD_NOW */
	callq	*fn_dlopen(%rip)
	testq	%rax, %rax
	jz	5f
	cmpb	$0, entry(%rip)
	je	5f
	cmpq	$0, fn_dlsym(%rip)
	je	5f
	movq	%rax, %rdi
	leaq	entry(%rip), %rsi
	callq	*fn_dlsym(%rip)
	testq	%rax, %rax
	jz	5f
	leaq	arg(%rip), %rdi
	callq	*%rax
5:	cmpq	$0, use_xsave(%rip)
	je	3f
	movl	$-1, %eax
	movl	$-1, %edx
	xrstor64 (%rbx)
	jmp	4f
3:	fxrstor64 (%rbx)
4:	pushq	sv_flags(%rip)
	popfq
	movq	sv_rax(%rip), %rax
	movq	sv_rbx(%rip), %rbx
	movq	sv_rcx(%rip), %rcx
	movq	sv_rdx(%rip), %rdx
	movq	sv_rsi(%rip), %rsi
	movq	sv_rdi(%rip), %rdi
	movq	sv_rbp(%rip), %rbp
	movq	sv_r8(%rip), %r8
	movq	sv_r9(%rip), %r9
	movq	sv_r10(%rip), %r10
	movq	sv_r11(%rip), %r11
	movq	sv_r12(%rip), %r12
	movq	sv_r13(%rip), %r13
	movq	sv_r14(%rip), %r14
	movq	sv_r15(%rip), %r15
	movq	sv_rsp(%rip), %rsp
	jmpq	*sv_rip(%rip)

	/* The data block: struct tramp_data in inject.c, same order. */
	.balign	8
	.globl	cs_tramp_data
cs_tramp_data:
fn_dlopen:	.quad 0
use_xsave:	.quad 0
fn_dlsym:	.quad 0
sv_rax:		.quad 0
sv_rbx:		.quad 0
sv_rcx:		.quad 0
sv_rdx:		.quad 0
sv_rsi:		.quad 0
sv_rdi:		.quad 0
sv_rbp:		.quad 0
sv_r8:		.quad 0
sv_r9:		.quad 0
sv_r10:		.quad 0
sv_r11:		.quad 0
sv_r12:		.quad 0
sv_r13:		.quad 0
sv_r14:		.quad 0
sv_r15:		.quad 0
sv_flags:	.quad 0
sv_rip:		.quad 0
sv_rsp:		.quad 0
	/* Written with the code, before any thread is stopped (see inject.c). */
entry:		.space 32	/* NUL-terminated name of the function to call, or empty */
arg:		.space 192	/* what its argument points at */
	.globl	cs_tramp_end
cs_tramp_end:
path:		/* the NUL-terminated path is written here */

	.section .note.GNU-stack,"",@progbits
