"""Banking: linked bank accounts and firm banking through the external bank (SPEC "Banking")."""
