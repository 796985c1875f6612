/* regcheck: keeps known values live in ymm0-ymm2 and in caller-saved r10/r11 inside a
 * tight loop and checks them every iteration, so a thread borrowed by csampler (to
 * load its agent) must come back with every register intact. Exits 3 on corruption,
 * 0 after ROUNDS rounds (default: until SIGTERM). Needs AVX2. */
#include "common.h"

static long check_round(void)
{
	long fail = 0;
	__asm__ volatile("movq $0x1234567, %%r11\n\t"
			 "movq $0x7654321, %%r10\n\t"
			 "vpcmpeqd %%ymm0, %%ymm0, %%ymm0\n\t"
			 "vpxor %%ymm1, %%ymm1, %%ymm1\n\t"
			 "movq $1000000, %%rcx\n\t"
			 "1:\n\t"
			 "vptest %%ymm0, %%ymm1\n\t"
			 "jnz 2f\n\t"
			 "vpcmpeqd %%ymm2, %%ymm2, %%ymm2\n\t"
			 "vptest %%ymm2, %%ymm0\n\t"
			 "jnc 2f\n\t"
			 "cmpq $0x1234567, %%r11\n\t"
			 "jne 2f\n\t"
			 "cmpq $0x7654321, %%r10\n\t"
			 "jne 2f\n\t"
			 "decq %%rcx\n\t"
			 "jnz 1b\n\t"
			 "jmp 3f\n\t"
			 "2: movq $1, %0\n\t"
			 "3:\n\t"
			 : "=r"(fail)
			 : "0"(0L)
			 : "rcx", "r10", "r11", "xmm0", "xmm1", "xmm2", "cc");
	return fail;
}

int main(void)
{
	target_ready();
	while (!target_stop)
		if (check_round()) {
			printf("CORRUPT\n");
			fflush(stdout);
			return 3;
		}
	return 0;
}
