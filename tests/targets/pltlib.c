/* pltlib: a function that does nothing, called through the PLT by the plt target. */
int cs_pltlib_nothing(int x);

int cs_pltlib_nothing(int x)
{
	return x;
}
